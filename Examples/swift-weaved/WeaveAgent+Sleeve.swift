import Mesh
import Netlink
import NetPrimitives
import Weave

/// The mesh connection's data-channel keys as the sleeve's cipher (one record per datagram,
/// sealed per direction with sequence nonces, opened through its replay window).
struct MeshSleeveCipher: SleeveCipher {
    let channel: MeshDataChannel

    var overhead: Int { SealedRecord.overhead }

    func seal(_ plaintext: UnsafeRawBufferPointer) -> [UInt8] { channel.seal(Array(plaintext)) }

    func open(_ record: UnsafeRawBufferPointer) -> Result<[UInt8], SleeveDrop> {
        channel.open(record).mapError { rejection in
            switch rejection {
            case .malformed: .malformed
            case .tampered: .tampered
            case .replayed, .staleGeneration: .replayed
            }
        }
    }
}

/// How the agent reaches one peer (status `paths`).
struct PeerPath: Codable, Sendable, Hashable {
    enum Path: String, Codable, Sendable { case fastpath, sleeve }
    var peer: String
    var path: Path
    /// The neighbour frames go to first (the peer itself when direct).
    var via: String
    var hops: Int
    var encrypted: Bool
}

/// Which peers each path carries, from the mesh's connections and routes (pure).
struct PathPlan: Sendable, Equatable {
    /// Directly connected peers whose data goes over the kernel fast path.
    var fastPath: [PeerName: IPAddress] = [:]
    /// Reachable peers whose data goes over the sleeve.
    var sleevePeers: Set<PeerName> = []
    /// Direct peers whose data is sealed.
    var encrypted: Set<PeerName> = []

    /// `neighbours`: the directly connected peers and their underlay addresses; `routes`: the
    /// mesh's; `encrypted`: neighbours whose data must be sealed (those never use the fast
    /// path, which has no encryption); `fastPathFailed`: neighbours whose fast path is down.
    static func plan(neighbours: [PeerName: IPAddress], routes: RouteTable, encrypted: Set<PeerName>,
                     fastPathFailed: Set<PeerName> = []) -> PathPlan {
        var plan = PathPlan()
        plan.encrypted = encrypted
        for (peer, address) in neighbours where !encrypted.contains(peer) && !fastPathFailed.contains(peer) {
            plan.fastPath[peer] = address
        }
        plan.sleevePeers = Set(routes.unicast.keys).subtracting(plan.fastPath.keys)
        return plan
    }
}

extension WeaveAgent {
    /// Recomputes which peers go over which path and hands the sleeve its routes; the flood
    /// list names the fast-path peers only. When a peer changes path, the MACs the bridge and
    /// the fast path learned for the old path are forgotten, so traffic floods and relearns.
    func refreshPaths() async {
        let status = await router.node.status()
        let routes = await router.routes()
        let localAddress = router.configuration.node.listen.address
        var neighbours: [PeerName: IPAddress] = [:]
        var channels: [PeerName: MeshDataChannel] = [:]
        for connection in status.connections where connection.state == .established {
            guard let peer = connection.peer?.name, neighbours[peer] == nil else { continue }
            neighbours[peer] = connection.address.address
            if connection.encrypted,
               router.configuration.node.trustedSubnets.requiresDataEncryption(local: localAddress, remote: connection.address.address),
               let channel = await router.node.dataChannel(for: peer) {
                channels[peer] = channel
            }
        }
        let failed = fastPathFailures(neighbours: neighbours, encrypted: Set(channels.keys))
        let plan = PathPlan.plan(neighbours: neighbours, routes: routes, encrypted: Set(channels.keys),
                                 fastPathFailed: failed)
        var sleeveRoutes = SleeveRoutes(local: router.localName.rawValue)
        for (peer, address) in neighbours {
            guard case .v4(let v4) = address else { continue }
            sleeveRoutes.neighbours[peer.rawValue] = SleeveRoutes.Neighbour(
                address: v4.value, cipher: channels[peer].map { MeshSleeveCipher(channel: $0) })
        }
        for route in routes.unicast.values { sleeveRoutes.nextHops[route.destination.rawValue] = route.nextHop.rawValue }
        sleeveRoutes.sleevePeers = plan.sleevePeers.map(\.rawValue).sorted()
        sleeve?.update(sleeveRoutes)
        let changed = plan.sleevePeers != pathPlan.sleevePeers || Set(plan.fastPath.keys) != Set(pathPlan.fastPath.keys)
        pathPlan = plan
        peerPaths = Self.paths(plan: plan, routes: routes, names: nicknames(status: await router.status()))
        do {
            let fdb = try dataPath.reconcileFloodList(remotes: Set(plan.fastPath.values))
            if !fdb.isEmpty { logger.info("fast path: \(fdb)") }
            floodRemotes = Set(plan.fastPath.values)
            if changed {
                logger.info("paths: \(peerPaths.map { "\($0.peer) \($0.path.rawValue) via \($0.via)" })")
                try dataPath.forgetLearnedAddresses()
            }
        } catch {
            floodErrors += 1
            logger.warning("fast path flood list: \(error)")
        }
    }

    /// Hands the heartbeat its targets (the unencrypted neighbours) and returns those whose
    /// heartbeats went unacknowledged for ``heartbeatTimeout`` (or never were): their data goes
    /// over the sleeve until the fast path answers again. Without heartbeats (tests that run no
    /// sleeve), no neighbour has failed.
    private func fastPathFailures(neighbours: [PeerName: IPAddress], encrypted: Set<PeerName>) -> Set<PeerName> {
        guard let heartbeat else { return [] }
        var targets: [UInt64: UInt32] = [:]
        for (peer, address) in neighbours where !encrypted.contains(peer) {
            if case .v4(let v4) = address { targets[peer.rawValue] = v4.value }
        }
        heartbeat.update(targets: targets)
        let acknowledged = heartbeat.lastAcknowledged
        let now = ContinuousClock.now
        return Set(neighbours.keys.filter { peer in
            guard targets[peer.rawValue] != nil else { return false }
            return acknowledged[peer.rawValue].map { now - $0 > Self.heartbeatTimeout } ?? true
        })
    }

    private func nicknames(status: MeshRouterStatus) -> [PeerName: String] {
        Dictionary(status.topology.peers.map { ($0.name, $0.nickname) }, uniquingKeysWith: { first, _ in first })
    }

    static func paths(plan: PathPlan, routes: RouteTable, names: [PeerName: String]) -> [PeerPath] {
        routes.sortedRoutes.map { route in
            let sleeve = plan.sleevePeers.contains(route.destination)
            return PeerPath(
                peer: names[route.destination] ?? route.destination.description, path: sleeve ? .sleeve : .fastpath,
                via: names[route.nextHop] ?? route.nextHop.description, hops: route.hops,
                encrypted: sleeve && plan.encrypted.contains(route.nextHop))
        }
    }
}
