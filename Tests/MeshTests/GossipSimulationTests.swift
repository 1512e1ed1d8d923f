import Testing
@testable import Mesh

@Suite struct GossipSimulationTests {
    static let shapes: [MeshSimulation.Shape] = [.fullMesh, .line, .ring, .star, .random(degree: 4)]

    /// Builds `shape` from nothing, delivers until quiet and checks convergence by push alone.
    static func converged(_ shape: MeshSimulation.Shape, peers: Int = 24, seed: UInt64 = 1) throws -> MeshSimulation {
        var simulation = MeshSimulation(peerCount: peers, seed: seed)
        try simulation.build(shape, seed: seed)
        try simulation.deliverAll()
        #expect(simulation.isConverged(), "\(shape) did not converge")
        return simulation
    }

    static func expectRoutesAndBroadcastCorrect(_ simulation: MeshSimulation, _ label: String) {
        let expectations = MeshExpectations(simulation)
        #expect(expectations.unicastMismatches(simulation) == [], "\(label): unicast routes differ from BFS")
        for (origin, received) in expectations.broadcastReceipts(simulation) {
            let island = Set(simulation.island(of: origin)).subtracting([origin])
            #expect(Set(received.keys) == island, "\(label): broadcast from \(origin) missed peers")
            #expect(received.values.allSatisfy { $0 == 1 }, "\(label): broadcast from \(origin) arrived twice somewhere")
        }
    }

    @Test(arguments: shapes) func convergesToBreadthFirstRoutes(shape: MeshSimulation.Shape) throws {
        let simulation = try Self.converged(shape)
        Self.expectRoutesAndBroadcastCorrect(simulation, "\(shape)")
        // Short IDs are distinct after convergence.
        let ids = simulation.engines.values.map(\.localEntry.shortID)
        #expect(Set(ids).count == ids.count)
    }

    @Test func oneWayConnectionsCarryNoRoutes() throws {
        let simulation = MeshSimulation(peerCount: 2)
        let (a, b) = (simulation.names[0], simulation.names[1])
        var engine = simulation.engines[a]!
        _ = engine.setLocalConnections([PeerConnection(peer: b, remoteAddress: "x", outbound: true, established: true)])
        #expect(engine.routes().nextHop(to: b) == nil)
        // b's entry lists a, but not as established: still one-way.
        let other = PeerEntry(identity: simulation.engines[b]!.localEntry.identity, version: 2, shortID: ShortID(rawValue: 9)!,
                              connections: [PeerConnection(peer: a, remoteAddress: "y", outbound: false, established: false)])
        _ = engine.receive(GossipMessage(entries: [other]), from: b)
        #expect(engine.routes().nextHop(to: b) == nil)
        #expect(engine.routes().unreachable == [b])
        var established = other
        established.version = 3
        established.connections[0].established = true
        let output = engine.receive(GossipMessage(entries: [established]), from: b)
        #expect(output.topologyChanged)
        #expect(engine.routes().nextHop(to: b) == b)
        _ = simulation
    }

    @Test func killedPeerIsRoutedAroundAndCollected() throws {
        var simulation = try Self.converged(.ring, peers: 12)
        let victim = simulation.names[3]
        try simulation.kill(victim)
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        Self.expectRoutesAndBroadcastCorrect(simulation, "ring minus one")
        for engine in simulation.engines.values {
            #expect(engine.routes().nextHop(to: victim) == nil)
            #expect(engine.routes().unreachable == [victim])
        }
        // First pass notes it unreachable, the next after the delay removes it everywhere.
        #expect(simulation.collectGarbage(advancing: .seconds(1), delay: .seconds(30)).isEmpty)
        let removed = simulation.collectGarbage(advancing: .seconds(30), delay: .seconds(30))
        #expect(removed.count == 11 && removed.values.allSatisfy { $0 == [victim] })
        // Anti-entropy does not bring it back.
        for _ in 0..<3 { try simulation.antiEntropyRound() }
        #expect(simulation.engines.values.allSatisfy { $0.entries[victim] == nil })
    }

    @Test func partitionHeals() throws {
        var simulation = MeshSimulation(peerCount: 20, seed: 7)
        let left = Array(simulation.names[0..<10]), right = Array(simulation.names[10..<20])
        for island in [left, right] {
            for index in island.indices.dropFirst() { try simulation.connect(island[index - 1], island[index]) }
            try simulation.connect(island.first!, island.last!)
        }
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        #expect(simulation.engines[left[0]]!.entries[right[0]] == nil)
        try simulation.connect(left[4], right[7])
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        Self.expectRoutesAndBroadcastCorrect(simulation, "healed partition")
        #expect(simulation.engines[left[0]]!.routes().unicast.count == 19)
    }

    @Test func splitIslandsStopRoutingAcross() throws {
        var simulation = try Self.converged(.line, peers: 10)
        try simulation.disconnect(simulation.names[4], simulation.names[5])
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        Self.expectRoutesAndBroadcastCorrect(simulation, "split line")
        #expect(simulation.engines[simulation.names[0]]!.routes().unreachable == Array(simulation.names[5...]))
    }

    @Test func shortIDCollisionsResolve() throws {
        // Every peer claims short ID 7 at first.
        var simulation = MeshSimulation(peerCount: 16, seed: 3)
        for name in simulation.names {
            simulation.replaceEngine(GossipEngine(identity: simulation.engines[name]!.localEntry.identity, shortID: ShortID(rawValue: 7)!))
        }
        try simulation.build(.random(degree: 3), seed: 3)
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        let ids = simulation.names.map { simulation.engines[$0]!.localEntry.shortID }
        #expect(Set(ids).count == ids.count)
        // The lowest name kept it.
        #expect(ids[0] == ShortID(rawValue: 7))
        // Everyone agrees on everyone's short ID.
        for engine in simulation.engines.values {
            #expect(simulation.names.map { engine.entries[$0]!.shortID } == ids)
        }
    }

    @Test func restartedPeerReplacesItsOldEntry() throws {
        var simulation = try Self.converged(.random(degree: 3), peers: 16)
        let peer = simulation.names[5]
        let oldUID = simulation.engines[peer]!.localEntry.identity.uid
        let neighbours = simulation.linkedPeers(of: peer)
        try simulation.kill(peer)
        try simulation.deliverAll()
        simulation.restart(peer)
        let newUID = simulation.engines[peer]!.localEntry.identity.uid
        #expect(newUID != oldUID)
        for other in neighbours { try simulation.connect(peer, other) }
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        for engine in simulation.engines.values {
            #expect(engine.entries[peer]?.identity.uid == newUID)
        }
        Self.expectRoutesAndBroadcastCorrect(simulation, "after restart")
    }

    @Test func restartedPeerWinsEvenIfOthersMissedItsDeath() throws {
        // The peer restarts before anyone noticed: others still hold its old entry with a
        // higher version than the new incarnation's first one.
        var simulation = try Self.converged(.ring, peers: 8)
        let peer = simulation.names[2]
        for _ in 0..<5 {  // push its old version up
            try simulation.disconnect(peer, simulation.names[3]); try simulation.deliverAll()
            try simulation.connect(peer, simulation.names[3]); try simulation.deliverAll()
        }
        let oldVersion = simulation.engines[peer]!.localEntry.version
        simulation.restartKeepingLinks(peer)
        #expect(simulation.engines[peer]!.localEntry.version < oldVersion)
        try simulation.reportConnections(of: peer)
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        let uid = simulation.engines[peer]!.localEntry.identity.uid
        #expect(simulation.engines.values.allSatisfy { $0.entries[peer]?.identity.uid == uid })
        #expect(simulation.engines[peer]!.localEntry.version > oldVersion)
    }

    @Test func antiEntropyRepairsALostMessage() throws {
        var simulation = try Self.converged(.ring, peers: 10)
        try simulation.connect(simulation.names[0], simulation.names[5])
        simulation.dropQueuedMessages()
        #expect(!simulation.isConverged())
        var rounds = 0
        while !simulation.isConverged() && rounds < 20 {
            rounds += 1
            try simulation.antiEntropyRound()
        }
        #expect(simulation.isConverged())
        Self.expectRoutesAndBroadcastCorrect(simulation, "repaired")
    }

    @Test func routeDiffReportsChanges() throws {
        var simulation = try Self.converged(.ring, peers: 6)
        let name = simulation.names[0]
        let before = simulation.engines[name]!.routes()
        #expect(before.changes(since: before).isEmpty)
        try simulation.connect(name, simulation.names[3])
        try simulation.deliverAll()
        let after = simulation.engines[name]!.routes()
        let diff = after.changes(since: before)
        #expect(!diff.isEmpty)
        #expect(diff.unicastChanged[simulation.names[3]] == simulation.names[3])
        #expect(diff.unicastRemoved.isEmpty)
        let status = simulation.engines[name]!.status()
        #expect(status.peers.count == 6 && status.routes.count == 5)
    }

    /// One connection change in converged meshes of 100 and 300 peers: the bytes sent network
    /// wide grow about linearly with the peer count (about one entry per peer), not with its
    /// square. Figures are printed by `cnilab bench mesh`; here only the shape is checked.
    @Test func bytesPerChangeGrowLinearly() throws {
        let small = try MeshSimulation.measureConnectionChange(peerCount: 100)
        let large = try MeshSimulation.measureConnectionChange(peerCount: 300)
        #expect(small.converged && large.converged)
        let ratio = Double(large.traffic.bytes) / Double(small.traffic.bytes)
        #expect(ratio > 2 && ratio < 4.5, "bytes for one change: \(small.traffic.bytes) at 100 peers, \(large.traffic.bytes) at 300")
        // About two entries (both ends of the connection) per peer, plus two digests.
        #expect(large.traffic.entries < 300 * 4)
    }

    /// In a full mesh an entry lists every peer, so sending whole entries would cost N² bytes
    /// per change; patches keep it linear.
    @Test func bytesPerChangeGrowLinearlyInAFullMesh() throws {
        let small = try MeshSimulation.measureConnectionChange(peerCount: 50, shape: .fullMesh)
        let large = try MeshSimulation.measureConnectionChange(peerCount: 150, shape: .fullMesh)
        #expect(small.converged && large.converged && !large.added)
        let ratio = Double(large.traffic.bytes) / Double(small.traffic.bytes)
        #expect(ratio > 2 && ratio < 4.5, "bytes for one change: \(small.traffic.bytes) at 50 peers, \(large.traffic.bytes) at 150")
    }

    @Test func patchGapsAreFilledByWholeEntries() throws {
        var simulation = try Self.converged(.ring, peers: 6)
        let (a, b) = (simulation.names[0], simulation.names[3])
        // Two changes of a's entry; the first is lost before anyone hears it.
        try simulation.connect(a, b)
        simulation.dropQueuedMessages()
        try simulation.disconnect(a, b)
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        Self.expectRoutesAndBroadcastCorrect(simulation, "after a lost patch")
    }

    @Test func coldStartConverges() throws {
        let measurement = try MeshSimulation.measureColdStart(peerCount: 40)
        #expect(measurement.converged)
    }
}
