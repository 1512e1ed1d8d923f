import NetPrimitives

/// The routing tables of a speaker: Adj-RIB-In per peer, the Loc-RIB with the decision
/// process, Adj-RIB-Out per peer with the export rules (iBGP full mesh, route reflection,
/// communities, export filters), graceful-restart stale handling and max-prefix limits.
///
/// A pure value: operations return the best-path changes and the updates to send. Peer 0 is
/// the speaker itself (locally originated routes).
struct RoutingInformationBase {
    struct LocEntry {
        var paths: [CandidatePath]
        var best: Int
    }

    let localAS: UInt32
    let routerID: IPv4Address
    /// RFC 4456 cluster ID (defaults to the router ID); changed by ``BGPSpeaker/setClusterID(_:)``.
    var clusterID: IPv4Address
    let defaultLocalPreference: UInt32
    var tables: [PeerTables?]
    var loc: [BGPPrefix: LocEntry] = [:]

    init(localAS: UInt32, routerID: IPv4Address, clusterID: IPv4Address? = nil, defaultLocalPreference: UInt32 = 100) {
        self.localAS = localAS
        self.routerID = routerID
        self.clusterID = clusterID ?? routerID
        self.defaultLocalPreference = defaultLocalPreference
        let local = RIBPeer(address: .v4(IPv4Address.any), asNumber: localAS, routerID: routerID, isInternal: false,
                            isRouteReflectorClient: false, families: [.ipv4Unicast, .ipv6Unicast], maximumPrefixes: nil,
                            fourOctetAS: true)
        self.tables = [PeerTables(peer: local, established: false)]
    }

    var prefixCount: Int { loc.count }

    // MARK: Peers

    mutating func addPeer(_ peer: RIBPeer) -> Int {
        if let free = tables.indices.dropFirst().first(where: { tables[$0] == nil }) {
            tables[free] = PeerTables(peer: peer)
            return free
        }
        tables.append(PeerTables(peer: peer))
        return tables.count - 1
    }

    mutating func removePeer(_ index: Int) -> RIBResult {
        let result = peerDown(index, keepStale: false)
        tables[index] = nil
        return result
    }

    /// The session came up: record what was negotiated and export the whole table to it.
    mutating func peerEstablished(_ index: Int, update: (inout RIBPeer) -> Void) -> RIBResult {
        guard tables[index] != nil else { return RIBResult() }
        update(&tables[index]!.peer)
        tables[index]!.established = true
        tables[index]!.adjacencyOut = [:]
        var result = RIBResult()
        var memo: [ExportKey: SharedAttributes?] = [:]
        var outbound = OutboundUpdates()
        var groups: [ObjectIdentifier: Int] = [:]
        for (prefix, entry) in loc {
            let best = entry.paths[entry.best]
            guard let exported = export(best, prefix: prefix, to: index, memo: &memo) else { continue }
            tables[index]!.adjacencyOut[prefix] = exported
            append(prefix, exported, to: &outbound, groups: &groups)
        }
        if !outbound.isEmpty { result.outbound[index] = outbound }
        return result
    }

    /// The session went down. With `keepStale` (graceful restart) the peer's routes stay,
    /// marked stale; otherwise they are withdrawn.
    mutating func peerDown(_ index: Int, keepStale: Bool) -> RIBResult {
        guard tables[index] != nil else { return RIBResult() }
        tables[index]!.established = false
        tables[index]!.adjacencyOut = [:]
        if keepStale {
            let prefixes = Array(tables[index]!.adjacencyIn.keys)
            tables[index]!.stale.formUnion(prefixes)
            for prefix in prefixes { setStale(prefix, peer: index, true) }
            return RIBResult()
        }
        let prefixes = Array(tables[index]!.adjacencyIn.keys)
        tables[index]!.adjacencyIn = [:]
        tables[index]!.stale = []
        var changed: [(BGPPrefix, CandidatePath?)] = []
        for prefix in prefixes { removePath(prefix, peer: index, changed: &changed) }
        return finish(changed, source: index)
    }

    /// Drops the peer's stale routes (all, or of one family after its End-of-RIB).
    mutating func sweepStale(_ index: Int, family: AddressFamily? = nil) -> RIBResult {
        guard let staleSet = tables[index]?.stale, !staleSet.isEmpty else { return RIBResult() }
        let wanted: IPAddress.Family? = family.map { $0 == .ipv6Unicast ? .v6 : .v4 }
        var changed: [(BGPPrefix, CandidatePath?)] = []
        for prefix in staleSet where wanted == nil || prefix.family == wanted {
            tables[index]!.stale.remove(prefix)
            tables[index]!.adjacencyIn[prefix] = nil
            removePath(prefix, peer: index, changed: &changed)
        }
        return finish(changed, source: index)
    }

    // MARK: Routes

    /// Applies an UPDATE from peer `index` (already decoded and RFC 7606-checked).
    mutating func apply(_ update: UpdateMessage, from index: Int) -> RIBResult {
        guard let peer = tables[index]?.peer else { return RIBResult() }
        var changed: [(BGPPrefix, CandidatePath?)] = []
        changed.reserveCapacity(update.reachableRoutes.count + update.withdrawnRoutes.count)
        for prefix in update.allWithdrawn {
            tables[index]!.stale.remove(prefix)
            if tables[index]!.adjacencyIn.removeValue(forKey: prefix) != nil {
                removePath(prefix, peer: index, changed: &changed)
            }
        }
        let reachable = update.allReachable
        if !reachable.isEmpty {
            let accepted = importAccepted(update.attributes, from: peer)
            var attributes = update.attributes
            if !peer.isInternal { attributes.localPreference = nil }
            let classic = SharedAttributes(attributes, nextHop: attributes.nextHop.map { .v4($0) })
            let multiprotocol = update.multiprotocolReach.map { SharedAttributes(attributes, nextHop: $0.nextHops.first) }
            let removeStale = !tables[index]!.stale.isEmpty
            for (list, shared) in [(update.reachableRoutes, classic), (update.multiprotocolReach?.prefixes ?? [], multiprotocol ?? classic)] {
                for prefix in list {
                    if removeStale { tables[index]!.stale.remove(prefix) }
                    var allowed = accepted
                    if allowed, let filter = peer.importFilter {
                        allowed = filter(BGPRoute(prefix: prefix, nextHop: shared.nextHop, attributes: shared.value,
                                               peer: peer.address, isInternal: peer.isInternal))
                    }
                    if allowed {
                        tables[index]!.adjacencyIn[prefix] = shared
                        setPath(prefix, CandidatePath(peer: index, attributes: shared, stale: false), changed: &changed)
                    } else if tables[index]!.adjacencyIn.removeValue(forKey: prefix) != nil {
                        removePath(prefix, peer: index, changed: &changed)
                    }
                }
            }
        }
        tables[index]!.received = tables[index]!.adjacencyIn.count
        var result = finish(changed, source: index)
        if let limit = peer.maximumPrefixes, tables[index]!.adjacencyIn.count > limit { result.prefixLimitExceeded = true }
        return result
    }

    /// Originates a route from this speaker (next hop nil means "self").
    mutating func originate(_ prefix: BGPPrefix, attributes: PathAttributes, nextHop: IPAddress?) -> RIBResult {
        let shared = SharedAttributes(attributes, nextHop: nextHop)
        tables[0]!.adjacencyIn[prefix] = shared
        var changed: [(BGPPrefix, CandidatePath?)] = []
        setPath(prefix, CandidatePath(peer: 0, attributes: shared, stale: false), changed: &changed)
        return finish(changed, source: 0)
    }

    mutating func withdrawOriginated(_ prefix: BGPPrefix) -> RIBResult {
        guard tables[0]!.adjacencyIn.removeValue(forKey: prefix) != nil else { return RIBResult() }
        var changed: [(BGPPrefix, CandidatePath?)] = []
        removePath(prefix, peer: 0, changed: &changed)
        return finish(changed, source: 0)
    }

    /// Whether a route is usable at all: loop detection (RFC 4271 §9.1.2, RFC 4456 §8), and an
    /// external peer's path must start with its AS (RFC 4271 §6.3; RFC 7606 §7.2 treats a
    /// violation as withdraw).
    func importAccepted(_ attributes: PathAttributes, from peer: RIBPeer) -> Bool {
        if !peer.isInternal {
            guard let first = attributes.asPath.segments.first, !(first.kind == .sequence && first.asNumbers.first != peer.asNumber)
            else { return false }
            return !attributes.asPath.contains(localAS)
        }
        if attributes.originatorID == routerID { return false }
        return !attributes.clusterList.contains(clusterID)
    }

    func route(for prefix: BGPPrefix, path: CandidatePath) -> BGPRoute {
        let peer = path.peer == 0 ? nil : tables[path.peer]?.peer
        return BGPRoute(prefix: prefix, nextHop: path.attributes.nextHop, attributes: path.attributes.value,
                     peer: peer?.address, isInternal: peer?.isInternal ?? false, isStale: path.stale)
    }

    /// The best route of every prefix.
    func bestRoutes() -> [BGPRoute] {
        loc.map { route(for: $0.key, path: $0.value.paths[$0.value.best]) }
    }

    // MARK: Loc-RIB maintenance

    private mutating func setPath(_ prefix: BGPPrefix, _ path: CandidatePath, changed: inout [(BGPPrefix, CandidatePath?)]) {
        guard var entry = loc[prefix] else {
            loc[prefix] = LocEntry(paths: [path], best: 0)
            changed.append((prefix, nil))
            return
        }
        let old = entry.paths[entry.best]
        if let existing = entry.paths.firstIndex(where: { $0.peer == path.peer }) {
            entry.paths[existing] = path
        } else {
            entry.paths.append(path)
        }
        entry.best = entry.paths.count == 1 ? 0 : selectBest(entry.paths)
        let new = entry.paths[entry.best]
        loc[prefix] = entry
        if new.peer != old.peer || new.attributes !== old.attributes || new.stale != old.stale { changed.append((prefix, old)) }
    }

    private mutating func removePath(_ prefix: BGPPrefix, peer: Int, changed: inout [(BGPPrefix, CandidatePath?)]) {
        guard var entry = loc[prefix], let index = entry.paths.firstIndex(where: { $0.peer == peer }) else { return }
        let old = entry.paths[entry.best]
        entry.paths.remove(at: index)
        if entry.paths.isEmpty {
            loc[prefix] = nil
            changed.append((prefix, old))
            return
        }
        entry.best = selectBest(entry.paths)
        loc[prefix] = entry
        let new = entry.paths[entry.best]
        if new.peer != old.peer || new.attributes !== old.attributes { changed.append((prefix, old)) }
    }

    private mutating func setStale(_ prefix: BGPPrefix, peer: Int, _ stale: Bool) {
        guard var entry = loc[prefix], let index = entry.paths.firstIndex(where: { $0.peer == peer }) else { return }
        entry.paths[index].stale = stale
        loc[prefix] = entry
    }
}
