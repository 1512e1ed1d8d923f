import Testing
@testable import Mesh

@Suite struct GossipChurnTests {
    /// Random connects, disconnects, kills and restarts with messages still in flight between
    /// events: after the churn stops, push gossip (plus at most a few anti-entropy rounds)
    /// converges and routes match BFS.
    @Test(arguments: [UInt64(1), 2, 3]) func convergesAfterChurn(seed: UInt64) throws {
        var simulation = MeshSimulation(peerCount: 24, seed: seed)
        try simulation.build(.random(degree: 3), seed: seed)
        var random = SplitMix64(seed: seed &* 77)
        var dead: [PeerName] = []
        for _ in 0..<40 {
            let a = simulation.names[Int(random.next() % 24)], b = simulation.names[Int(random.next() % 24)]
            switch random.next() % 8 {
            case 0:
                if simulation.engines[a] != nil, dead.count < 3 { try simulation.kill(a); dead.append(a) }
            case 1:
                if let peer = dead.popLast() {
                    simulation.restart(peer)
                    try simulation.connect(peer, a)
                    try simulation.connect(peer, b)
                }
            case 2, 3: try simulation.disconnect(a, b)
            default: try simulation.connect(a, b)
            }
            try simulation.deliverAll(maximumRounds: Int(random.next() % 3))
        }
        try simulation.deliverAll()
        var rounds = 0
        while !simulation.isConverged() && rounds < 10 {
            rounds += 1
            try simulation.antiEntropyRound()
        }
        #expect(simulation.isConverged(), "seed \(seed): not converged after \(rounds) anti-entropy rounds")
        GossipSimulationTests.expectRoutesAndBroadcastCorrect(simulation, "churn seed \(seed)")
        // Short IDs are distinct within each island (islands cannot see each other's claims).
        for name in simulation.engines.keys {
            let ids = simulation.island(of: name).map { simulation.engines[$0]!.localEntry.shortID }
            #expect(Set(ids).count == ids.count)
        }
    }
}
