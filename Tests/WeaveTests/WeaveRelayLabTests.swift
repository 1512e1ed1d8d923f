import Foundation
import Lab
import LabProfiles
import Testing
import TestSupport
import Weave
@testable import swift_weaved

/// The sleeve relays across a partial mesh: 4 weave nodes with node 0 ⟷ node 3 blocked in the
/// fabric (`cnilab link block 0 3`) still connect every pod pair, the pair 0–3 through a relay
/// (node 1 or 2) over the sleeve, and `status` shows that route; unblocked, the pair goes
/// direct over the fast path again and every pair still connects.
@Suite(.serialized) struct WeaveRelayLabTests {
    /// The agent's path to `peer`; nil when unknown or the agent did not answer.
    static func path(to peer: String, socket: String) -> PeerPath? {
        (try? WeaveSecretLabTests.status(socket))?.paths.first { $0.peer == peer }
    }

    @Test(.privileged) func relayAcrossABlockedPair() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave-relay")
        let name = "wr\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            TestDirectories.remove(root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .weave(), nodeCount: 4))
        let socket0 = directory + "/nodes/0/weave.sock", socket3 = directory + "/nodes/3/weave.sock"
        try await lab.blockLink(0, 3)
        for node in 0..<4 {
            try await lab.addPod(try PodReference(namespace: "x", name: "p\(node)"), node: node, labels: ["app": "p\(node)"])
        }

        // The mesh drops the 0–3 connection (heartbeat timeout, 6 s in the lab) and routes
        // around it: node 0 reaches node 3 over the sleeve through node 1 or 2, and back.
        let relayed = try await eventually(within: 30) {
            let forward = Self.path(to: "node-3", socket: socket0)
            let backward = Self.path(to: "node-0", socket: socket3)
            return forward?.path == .sleeve && forward?.hops == 2 && backward?.path == .sleeve && backward?.hops == 2
        }
        let route = Self.path(to: "node-3", socket: socket0)
        #expect(relayed, "node 0's path to node 3: \(String(describing: route))")
        #expect(route.map { ["node-1", "node-2"].contains($0.via) } == true, "\(String(describing: route))")
        #expect(try WeaveSecretLabTests.status(socket0).sleeve.peers == ["node-3"])

        let results = try await lab.probe(ProbeOptions(ports: [80], timeoutMilliseconds: 1_000))
        #expect(results.count == 4 * 3 * 2 && results.allSatisfy(\.connected), "\(results.filter { !$0.connected })")
        let relays = try ["1", "2"].map { try WeaveSecretLabTests.status(directory + "/nodes/\($0)/weave.sock").sleeve.counters.framesRelayed }
        #expect(relays.reduce(0, +) > 0, "frames relayed by nodes 1 and 2: \(relays)")
        #expect(try WeaveSecretLabTests.status(socket0).sleeve.counters.framesDelivered > 0)

        // Unblocked: the mesh reconnects 0–3 and the pair goes direct on the fast path again.
        try await lab.unblockLink(0, 3)
        let direct = try await eventually(within: 30) {
            let forward = Self.path(to: "node-3", socket: socket0)
            let backward = Self.path(to: "node-0", socket: socket3)
            return forward?.path == .fastpath && forward?.hops == 1 && backward?.path == .fastpath
        }
        #expect(direct, "node 0's path to node 3: \(String(describing: Self.path(to: "node-3", socket: socket0)))")
        #expect(try WeaveSecretLabTests.status(socket0).sleeve.peers.isEmpty)
        let delivered = try WeaveSecretLabTests.status(socket0).sleeve.counters.framesDelivered
        let healed = try await lab.probe(ProbeOptions(ports: [80], timeoutMilliseconds: 1_000))
        #expect(healed.count == 4 * 3 * 2 && healed.allSatisfy(\.connected), "\(healed.filter { !$0.connected })")
        #expect(try WeaveSecretLabTests.status(socket0).sleeve.counters.framesDelivered == delivered,
                "node 0 still received frames over the sleeve after the pair went direct")
        try await lab.down()
    }
}
