/// The topology gossip of one peer, as a pure value: it holds every peer's ``PeerEntry``,
/// turns local connection changes and received ``GossipMessage``s into messages to send, and
/// computes routes. It does no I/O and reads no clock; the runtime feeds it events and sends
/// what ``GossipOutput`` lists to directly connected peers.
///
/// Which message goes where (the forwarding rule):
/// - A change of the local entry (connections, short ID, version raised over an old
///   incarnation) is sent, as that one entry, to every directly connected peer.
/// - An entry received and new to us (unknown peer, or it supersedes ours) is forwarded only to
///   our children in the owner's broadcast tree (the shortest-path tree rooted at the peer the
///   entry describes), plus to directly connected peers that are not yet two-way in our view;
///   never back to the sender. When the owner cannot reach us in our view, it goes to every
///   directly connected peer but the sender. Old or known entries stop here.
/// - A digest (sent on each newly established connection, and by ``antiEntropyMessage()`` on a
///   timer) is answered with exactly the entries the sender lacks, plus our own digest when the
///   sender has something we lack.
///
/// So one change costs about one entry per reachable peer network-wide, not the whole topology
/// per peer as Weave's full-state gossip did.
public struct GossipEngine: Sendable {
    /// The local peer's name.
    public let localName: PeerName
    /// Every known entry, the local one included.
    /// (Written only through `store(_:)` and `removeEntries(_:)`, which keep the private `graph` in step.)
    public private(set) var entries: [PeerName: PeerEntry]
    private var unreachableSince: [PeerName: ContinuousClock.Instant] = [:]
    /// The two-way connection graph of ``entries``, kept up to date as entries change instead
    /// of being rebuilt for every received message.
    private(set) var graph: TopologyGraph
    /// Changes whenever any entry's connections change or a peer is added or removed.
    private(set) var topologyGeneration: UInt64 = 0
    /// Changes only when what routes are computed from changes: an edge of the two-way graph
    /// appears or disappears, a peer is added or removed, or the local connection list changes.
    /// Routes and forwarding targets computed under one value hold until it changes (most
    /// received entries change one end of a connection only, or an address: no new routes).
    private(set) var routingGeneration: UInt64 = 0
    /// Forwarding targets per entry owner (before removing sender and owner), valid for
    /// ``routingGeneration`` `forwardCacheGeneration`.
    var forwardCache: [PeerName: [PeerName]] = [:]
    var forwardCacheGeneration: UInt64 = 0
    /// While the local view has a one-sided connection or names a peer without an entry (a
    /// cold start, a change on its way), forward new entries to every neighbour but the sender
    /// instead of along the owner's broadcast tree: trees computed from views that differ miss
    /// peers, and each miss costs a repair later. Off: always along the tree.
    public var floodsWhileViewIncomplete = false
    /// Which neighbours hold the versions we hold (``NeighbourHolders``).
    var holders = NeighbourHolders()

    /// A fresh engine: the local entry has version 1, no connections, and claims `shortID`
    /// (default: ``ShortID/preferred(for:)``).
    public init(identity: PeerIdentity, shortID: ShortID? = nil) {
        localName = identity.name
        let entry = PeerEntry(identity: identity, version: 1, shortID: shortID ?? .preferred(for: identity.name), connections: [])
        entries = [identity.name: entry]
        graph = TopologyGraph(entries: [entry])
    }

    /// Puts `entry` in place of the one held for its peer, keeping ``graph`` and
    /// ``topologyGeneration`` in step: a new peer or a changed connection list updates only
    /// that peer's edges.
    mutating func store(_ entry: PeerEntry) {
        var entry = entry
        if let old = entries[entry.name], old.connections == entry.connections {
            // Same connections: keep the one stored list (the graph shares it).
            entry.connections = old.connections
            entries[entry.name] = entry
        } else {
            entries[entry.name] = entry
            let before = graph.generation
            graph.update(entry)
            topologyGeneration &+= 1
            if graph.generation != before || entry.name == localName { routingGeneration &+= 1 }
        }
        if let number = graph.number(of: entry.name) { holders.reset(number) }
    }

    /// Removes the entries of `names` and rebuilds the graph (rare: garbage collection).
    private mutating func removeEntries(_ names: [PeerName]) {
        guard !names.isEmpty else { return }
        for name in names { entries[name] = nil }
        graph = TopologyGraph(entries: entries.values)
        holders.removeAll()
        topologyGeneration &+= 1
        routingGeneration &+= 1
    }

    /// The local peer's current entry.
    public var localEntry: PeerEntry { entries[localName]! }

    /// The directly connected peers the runtime reported as established: where messages go.
    public var connectedPeers: [PeerName] { localEntry.establishedPeers }

    // MARK: - Events

    /// Replaces the local peer's connections (call on every connection established, lost or
    /// changed). Returns the new local entry for every connected peer, plus a digest for each
    /// newly established one so the two exchange what the other lacks; empty when nothing changed.
    public mutating func setLocalConnections(_ connections: [PeerConnection]) -> GossipOutput {
        let normalised = PeerEntry.normalised(connections.filter { $0.peer != localName })
        let old = localEntry
        let before = Set(old.establishedPeers)
        guard normalised != localEntry.connections else { return GossipOutput() }
        var changed = old
        changed.connections = normalised
        changed.version += 1
        store(changed)
        var output = GossipOutput(topologyChanged: true)
        var digestFor: Set<PeerName> = []
        for peer in connectedPeers where !before.contains(peer) {
            digestFor.insert(peer)
            holders.forget(peer)
        }
        resolveShortIDCollision()
        // Peers that had our previous version get the change only; new ones the whole entry.
        let patch = PeerEntryPatch(from: old, to: localEntry)
        for peer in connectedPeers {
            if let patch, !digestFor.contains(peer) {
                output.add(patch, to: peer)
            } else {
                output.add([localEntry], to: peer)
            }
            if digestFor.contains(peer) { output.add(digest: currentDigest, isReply: false, to: peer) }
        }
        return output
    }

    /// Applies a message received from the directly connected peer `sender`. The output lists
    /// what to forward or answer, and whether the topology (hence maybe the routes) changed.
    public mutating func receive(_ message: GossipMessage, from sender: PeerName) -> GossipOutput {
        var output = GossipOutput()
        var accepted: [PeerEntry] = []
        var previous: [PeerName: PeerEntry] = [:]
        var localChanged = false
        for entry in message.entries {
            if entry.name == localName {
                localChanged = raiseLocalVersion(over: entry) || localChanged
            } else if accepts(entry, from: sender) {
                if let old = entries[entry.name], !entry.digest.supersedes(old.digest) {
                    // A restarted peer whose new entry is below its old incarnation's version:
                    // hand it the old one so it raises its version past it and wins everywhere.
                    output.add([old], to: sender)
                }
                if previous[entry.name] == nil { previous[entry.name] = entries[entry.name] }
                store(entry)
                noteHeld(entry.name, version: entry.version, by: sender)
                unreachableSince[entry.name] = nil
                accepted.append(entry)
            } else if entries[entry.name]?.digest == entry.digest {
                noteHeld(entry.name, version: entry.version, by: sender)
            }
        }
        var acceptedPatches: [PeerEntryPatch] = []
        var wants: [PeerName] = []
        for patch in message.patches {
            if patch.name == localName {
                if patch.version >= localEntry.version, patch.uid != localEntry.identity.uid || patch.version > localEntry.version {
                    entries[localName]!.version = patch.version + 1
                    localVersionChanged()
                    localChanged = true
                }
                continue
            }
            guard let existing = entries[patch.name] else { wants.append(patch.name); continue }
            if existing.identity.uid == patch.uid && existing.version >= patch.version {
                if existing.version == patch.version { noteHeld(patch.name, version: patch.version, by: sender) }
                continue
            }
            if let updated = patch.applied(to: existing) {
                store(updated)
                noteHeld(patch.name, version: patch.version, by: sender)
                unreachableSince[patch.name] = nil
                acceptedPatches.append(patch)
            } else {
                // A gap in versions or another incarnation: ask the sender for the whole entry.
                wants.append(patch.name)
            }
        }
        if !wants.isEmpty { output.add(wants: wants, to: sender) }
        for name in message.wants {
            if let number = graph.number(of: name) { holders.forget(sender, of: number) }
            if let entry = entries[name] { output.add([entry], to: sender) }
        }
        if !accepted.isEmpty || !acceptedPatches.isEmpty {
            output.topologyChanged = true
            // Only a changed entry can newly claim our short ID.
            localChanged = resolveShortIDCollision(among: accepted.map(\.name) + acceptedPatches.map(\.name)) || localChanged
            prepareForwardTargets(owners: accepted.count + acceptedPatches.count)
        }
        for entry in accepted {
            // Our children held what we held: the change from it is enough (they ask for
            // the whole entry if not).
            let patch = previous[entry.name].flatMap { PeerEntryPatch(from: $0, to: entry) }
            for peer in forwardTargets(owner: entry.name, from: sender) {
                if let patch { output.add(patch, to: peer) } else { output.add([entry], to: peer) }
            }
        }
        for patch in acceptedPatches {
            for peer in forwardTargets(owner: patch.name, from: sender) { output.add(patch, to: peer) }
        }
        if localChanged {
            output.topologyChanged = true
            for peer in connectedPeers { output.add([localEntry], to: peer) }
        }
        if let digest = message.digest {
            answer(digest, isReply: message.isDigestReply, from: sender, into: &output)
        }
        return output
    }

    /// A digest of everything we hold, for the runtime to send to one random connected peer
    /// every gossip interval: the answer brings anything a lost or misrouted update missed.
    public func antiEntropyMessage() -> GossipMessage {
        GossipMessage(digest: currentDigest)
    }

    /// Removes peers that have been unreachable from us since at least `delay` before `now`
    /// (first seen unreachable by an earlier call). Removal is local: every peer collects on
    /// its own, and unreachable entries are never offered in digest answers, so they do not
    /// come back. Returns the removed names.
    public mutating func collectGarbage(now: ContinuousClock.Instant, after delay: Duration) -> [PeerName] {
        let reachable = graph.reachable(from: localName)
        var removed: [PeerName] = []
        for name in entries.keys where !reachable.contains(name) {
            if let since = unreachableSince[name] {
                if since.advanced(by: delay) <= now {
                    unreachableSince[name] = nil
                    removed.append(name)
                }
            } else {
                unreachableSince[name] = now
            }
        }
        removeEntries(removed)
        for name in unreachableSince.keys where reachable.contains(name) || entries[name] == nil {
            unreachableSince[name] = nil
        }
        return removed.sorted()
    }

    // MARK: - Routes and status

    /// The local peer's routes over the current topology.
    public func routes() -> RouteTable {
        graph.routeTable(for: localName, known: entries.keys)
    }

    /// Peers and routes as Codable values.
    public func status() -> MeshTopologyStatus {
        let table = routes()
        return MeshTopologyStatus(
            localPeer: localName,
            peers: entries.values.sorted { $0.name < $1.name }.map(MeshTopologyStatus.Peer.init),
            routes: table.sortedRoutes,
            unreachable: table.unreachable)
    }

    // MARK: - Rules

    var currentDigest: [PeerDigest] { entries.values.map(\.digest).sorted { $0.name < $1.name } }

    /// Whether `entry` replaces what we hold: unknown peer, a superseding version, or a new
    /// incarnation (different uid) heard from the peer itself.
    private func accepts(_ entry: PeerEntry, from sender: PeerName) -> Bool {
        guard let existing = entries[entry.name] else { return true }
        if entry.digest.supersedes(existing.digest) { return true }
        return sender == entry.name && entry.identity.uid != existing.identity.uid
    }

    /// Someone holds an entry about us that is not ours (an old incarnation with a higher
    /// version, or a version we reached before restarting): move past it so ours wins everywhere.
    private mutating func raiseLocalVersion(over entry: PeerEntry) -> Bool {
        let local = localEntry
        guard entry != local, entry.version >= local.version else { return false }
        entries[localName]!.version = entry.version + 1
        localVersionChanged()
        return true
    }

    /// If a peer with a lower name claims our short ID, pick a free one (the lower name keeps it).
    @discardableResult
    private mutating func resolveShortIDCollision(among changed: [PeerName]? = nil) -> Bool {
        let ours = localEntry.shortID
        let local = localName
        let collides = if let changed {
            changed.contains { $0 < local && entries[$0]?.shortID == ours }
        } else {
            entries.values.contains { $0.name < local && $0.shortID == ours }
        }
        guard collides else { return false }
        let used = Set(entries.values.filter { $0.name != local }.map(\.shortID))
        guard let free = ShortID.free(for: localName, avoiding: used) else { return false }
        entries[localName]!.shortID = free
        entries[localName]!.version += 1
        localVersionChanged()
        return true
    }

    private mutating func answer(_ digest: [PeerDigest], isReply: Bool, from sender: PeerName, into output: inout GossipOutput) {
        var theirs: [PeerName: PeerDigest] = [:]
        for item in digest {
            theirs[item.name] = item
            guard let ours = entries[item.name], let number = graph.number(of: item.name) else { continue }
            if item == ours.digest { holders.note(sender, of: number) } else { holders.forget(sender, of: number) }
        }
        // Only entries of peers we can reach (and our own): unreachable ones are on their way
        // out and must not be handed back to peers that collected them.
        let reachable = graph.reachable(from: localName)
        var missing: [PeerEntry] = []
        for name in reachable.sorted() {
            guard let entry = entries[name] else { continue }
            if let item = theirs[name], item == entry.digest || !entry.digest.supersedes(item) { continue }
            missing.append(entry)
        }
        if !missing.isEmpty { output.add(missing, to: sender) }
        guard !isReply else { return }
        let weLack = digest.contains { item in
            guard let ours = entries[item.name] else { return item.name != localName }
            if item.name == localName { return item != ours.digest && item.version >= ours.version }
            return item.supersedes(ours.digest)
        }
        if weLack { output.add(digest: currentDigest, isReply: true, to: sender) }
    }
}
