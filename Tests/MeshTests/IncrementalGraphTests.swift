import Testing
@testable import Mesh

/// The engine keeps its connection graph up to date entry by entry and caches forwarding
/// targets per topology generation: both must give what a graph built from scratch gives.
@Suite struct IncrementalGraphTests {
    static func expectGraphsFresh(_ simulation: MeshSimulation, _ context: String) {
        for (name, engine) in simulation.engines {
            let fresh = TopologyGraph(entries: engine.entries.values)
            #expect(engine.graph == fresh, "\(context): \(name)'s graph is stale")
            // The one-sided report count kept edge by edge matches a count from scratch.
            #expect(engine.graph.unmatchedReports == fresh.unmatchedReports, "\(context): \(name)'s one-sided count is stale")
            #expect(engine.graph.unmatchedReports >= 0)
        }
    }

    /// Random connects, disconnects, kills, restarts and garbage collection, checking every
    /// engine's incremental graph against a fresh one after each step.
    @Test(arguments: [UInt64(4), 5]) func incrementalGraphMatchesFreshBuild(seed: UInt64) throws {
        var simulation = MeshSimulation(peerCount: 16, seed: seed)
        try simulation.build(.random(degree: 3), seed: seed)
        Self.expectGraphsFresh(simulation, "built")
        var random = SplitMix64(seed: seed &* 31)
        var dead: [PeerName] = []
        for step in 0..<30 {
            let a = simulation.names[Int(random.next() % 16)], b = simulation.names[Int(random.next() % 16)]
            switch random.next() % 8 {
            case 0:
                if simulation.engines[a] != nil, dead.count < 3 { try simulation.kill(a); dead.append(a) }
            case 1:
                if let peer = dead.popLast() {
                    simulation.restart(peer)
                    try simulation.connect(peer, a)
                }
            case 2, 3: try simulation.disconnect(a, b)
            case 4: _ = simulation.collectGarbage(advancing: .seconds(10), delay: .seconds(5))
            default: try simulation.connect(a, b)
            }
            try simulation.deliverAll(maximumRounds: Int(random.next() % 3))
            Self.expectGraphsFresh(simulation, "step \(step)")
        }
        try simulation.deliverAll()
        Self.expectGraphsFresh(simulation, "settled")
    }

    /// A peer forwards an owner's entries along the owner's broadcast tree; when the tree changes
    /// (a new link makes another peer the parent) the cached targets must not be reused.
    @Test func forwardTargetsFollowTopologyChanges() throws {
        // Line 0-1-2-3: entries of 0 reach 2 from 1, and 2 forwards them to 3.
        var simulation = MeshSimulation(peerCount: 4)
        let n = simulation.names
        try simulation.connect(n[0], n[1])
        try simulation.connect(n[1], n[2])
        try simulation.connect(n[2], n[3])
        try simulation.deliverAll()
        #expect(simulation.isConverged())
        var engine = simulation.engines[n[2]]!
        let owner = engine.entries[n[0]]!
        var newer = owner
        newer.version += 1
        newer = PeerEntry(identity: newer.identity, version: newer.version, shortID: newer.shortID,
                          connections: newer.connections + [PeerConnection(peer: PeerName(rawValue: 0xfe)!, remoteAddress: "", outbound: true, established: false)])
        let first = engine.receive(GossipMessage(entries: [newer]), from: n[1])
        #expect(first.sends.map(\.peer) == [n[3]])
        // Now 0 links to 3 as well: in 0's tree, 3 hangs off 0, so 2 forwards 0's entries to nobody.
        for (peer, other) in [(n[0], n[3]), (n[3], n[0])] {
            var entry = engine.entries[peer]!
            entry.version += 1
            entry.connections.append(PeerConnection(peer: other, remoteAddress: "", outbound: true, established: true))
            entry = PeerEntry(identity: entry.identity, version: entry.version, shortID: entry.shortID, connections: entry.connections)
            _ = engine.receive(GossipMessage(entries: [entry]), from: n[peer == n[0] ? 1 : 3])
        }
        var latest = engine.entries[n[0]]!
        latest.version += 1
        let second = engine.receive(GossipMessage(entries: [latest]), from: n[1])
        #expect(second.sends.map(\.peer).filter { $0 == n[3] }.isEmpty)
        #expect(engine.graph == TopologyGraph(entries: engine.entries.values))
    }
}
