import ChildProcess
import Foundation
@testable import Lab
@testable import LabProfiles
import Namespaces
import NetPrimitives
import Testing
import TestSupport
import Weave

/// The weave profile end to end on 3 nodes: swift-weaved on each (mesh, ring, fast path),
/// pods added with swift-weave through the lab's runtime. Every pod reaches every other over
/// TCP and UDP; addresses are unique and from 10.32.0.0/12; each node floods to the two
/// others; STATUS fails while an agent is down and DEL still succeeds; a restarted agent keeps
/// its pods' addresses; a removed node's space is reclaimed by `rmpeer`; `link block` cuts a node pair in the fabric and `unblock` heals it.
@Suite(.serialized) struct WeaveLabTests {
    static var productsDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return (executable as NSString).deletingLastPathComponent
    }

    @Test func profileRoundTrip() throws {
        let profile = WeaveProfile(secretFile: "/etc/weave/secret", trustedSubnets: ["192.168.0.0/16"])
        #expect(try JSONDecoder().decode(WeaveProfile.self, from: try JSONEncoder().encode(profile)) == profile)
        #expect(profile.description == "weave (encrypted)" && WeaveProfile().name == "weave")
        #expect(throws: LabError.self) { try WeaveProfile(trustedSubnets: ["nope"]).validate() }
        let node = LabNode(index: 2, name: "node-2", networkNamespace: "x", underlayAddress: "192.168.77.12", agent: .none)
        #expect(WeaveProfile.earlierNodeAddresses(node, subnets: 1) == ["192.168.77.10", "192.168.77.11"])
        // Over two underlay subnets node 1 is in the second one (192.168.78.0/24).
        #expect(WeaveProfile.earlierNodeAddresses(node, subnets: 2) == ["192.168.77.10", "192.168.78.11"])
    }

    /// Polls the agent's ping until it answers (30 s at most).
    static func waitUntilReady(_ socket: String) async throws {
        let client = WeaveAgentClient(socketPath: socket, timeoutSeconds: 2)
        let ready = try await eventually(within: 30) { (try? client.perform(WeaveAgentRequest(operation: .ping))) != nil }
        try #require(ready, "the agent on \(socket) did not become ready")
    }

    func pluginStatus(node: LabNode, socket: String) throws -> ChildProcess.Output {
        let configuration = #"{"cniVersion":"1.1.0","name":"weave","type":"swift-weave","socket":"\#(socket)"}"#
        return try NetworkNamespace.open(name: node.networkNamespace).runPluginRaw(
            Self.productsDirectory + "/swift-weave", command: "STATUS", configuration: configuration, podNamespace: nil,
            pluginPath: [Self.productsDirectory])
    }

    @Test(.privileged) func threeNodeWeaveLab() async throws {
        let root = try TestDirectories.temporary(prefix: "cnilab-weave")
        let name = "w\(UInt32.random(in: 0...UInt32.max) % 1_000_000_000)"
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            TestDirectories.remove(root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .weave(), nodeCount: 3))
        let nodes = await lab.nodes()
        #expect(nodes.count == 3 && nodes.allSatisfy { $0.agent == .running && $0.subnet == "10.32.0.0/12" })
        #expect(await lab.status().plugin == "weave")

        for (index, node) in [0, 0, 1, 2].enumerated() {
            try await lab.addPod(try PodReference(namespace: "x", name: "p\(index)"), node: node, labels: ["app": "p\(index)"])
        }
        let pods = await lab.pods()
        let range = try IPNetwork(parsing: "10.32.0.0/12")
        let addresses = pods.compactMap(\.address)
        #expect(addresses.count == 4 && Set(addresses).count == 4, "\(addresses)")
        #expect(try addresses.allSatisfy { range.contains(try IPAddress(parsing: $0)) }, "\(addresses)")

        let results = try await lab.probe(ProbeOptions(ports: [80], timeoutMilliseconds: 1_000))
        #expect(results.count == 4 * 3 * 2 && results.allSatisfy(\.connected), "\(results.filter { !$0.connected })")

        // Each node floods to the two others, and routes to both.
        let socket0 = directory + "/nodes/0/weave.sock"
        let text = try WeaveAgentClient(socketPath: socket0, timeoutSeconds: 5).perform(WeaveAgentRequest(operation: .status)).text ?? ""
        let status = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let fastPath = status?["fastPath"] as? [String: Any]
        #expect((fastPath?["remotes"] as? [String])?.sorted() == ["192.168.77.11", "192.168.77.12"], "\(text.prefix(2000))")

        // STATUS fails while node 1's agent is down; DEL of its pod still succeeds.
        let node1 = try #require(nodes.first { $0.index == 1 })
        let socket1 = directory + "/nodes/1/weave.sock"
        #expect(try pluginStatus(node: node1, socket: socket1).status.isSuccess)
        try await lab.stopAgent(1)
        // SIGTERM is a clean stop: the socket is removed, the data path stays.
        #expect(!FileManager.default.fileExists(atPath: socket1))
        #expect(try NetworkNamespace.open(name: node1.networkNamespace).ip(["-o", "link", "show", "vxlan-6784"]).contains("master weave"))
        let down = try pluginStatus(node: node1, socket: socket1)
        #expect(!down.status.isSuccess && down.standardOutputText.contains("\"code\":50"), "\(down.standardOutputText)")
        try await lab.deletePod(try PodReference(namespace: "x", name: "p2"))
        try await lab.startAgent(1)
        try await Self.waitUntilReady(socket1)
        let readyAgain = try await eventually(within: 15) { try pluginStatus(node: node1, socket: socket1).status.isSuccess }
        #expect(readyAgain, "\((try? pluginStatus(node: node1, socket: socket1).standardOutputText) ?? "")")
        // Killed with SIGKILL (no clean stop): its readiness file names a dead process.
        try await lab.killAgent(1)
        let killed = try pluginStatus(node: node1, socket: socket1)
        #expect(
            !killed.status.isSuccess && killed.standardOutputText.contains("\"code\":50")
                && killed.standardOutputText.contains("no longer running"), "\(killed.standardOutputText)")
        try await lab.startAgent(1)
        try await Self.waitUntilReady(socket1)

        // A restarted agent keeps its pods' addresses (its ring state is on disk).
        let pod3 = try #require(pods.first { $0.name == "p3" })
        try await lab.stopAgent(2)
        try await lab.startAgent(2)
        let socket2 = directory + "/nodes/2/weave.sock"
        try await Self.waitUntilReady(socket2)
        let again = try await Task.detached {
            try WeaveAgentClient(socketPath: socket2, timeoutSeconds: 30)
                .perform(WeaveAgentRequest(operation: .allocate, containerID: pod3.containerID))
        }.value
        #expect(again.address?.hasPrefix(try #require(pod3.address) + "/") == true, "\(again)")
        // The restarted agent serves at once (from disk); its pods' traffic flows again once the
        // mesh has reconnected it and every node's flood list names it.
        let reconnected = try await eventually(within: 20) {
            [socket0, socket1, socket2].allSatisfy { socket in
                let text = (try? WeaveAgentClient(socketPath: socket, timeoutSeconds: 2).perform(WeaveAgentRequest(operation: .status)).text) ?? ""
                let document = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                return ((document?["fastPath"] as? [String: Any])?["remotes"] as? [String])?.count == 2
            }
        }
        #expect(reconnected)
        let after = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 1_000))
        #expect(after.count == 3 * 2 && after.allSatisfy(\.connected), "\(after.filter { !$0.connected })")

        // Node 2 dies for good: once the mesh has dropped it, rmpeer on node 0 reclaims its
        // space (a quorum of the ring's owners: nodes 0 and 1 of 0, 1, 2).
        try await lab.removeNode(2)
        let client0 = WeaveAgentClient(socketPath: socket0, timeoutSeconds: 40)
        var outcome = WeaveAgentResponse()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        repeat {
            outcome = try await Task.detached { try client0.exchange(WeaveAgentRequest(operation: .removePeer, peer: "node-2")) }.value
            if outcome.error == nil { break }
            try await Task.sleep(for: .milliseconds(500))
        } while clock.now < deadline
        #expect(outcome.error == nil && outcome.text?.contains("reclaimed the space of") == true, "\(outcome)")
        let ring = try WeaveAgentClient(socketPath: socket0, timeoutSeconds: 5).perform(WeaveAgentRequest(operation: .status)).text ?? ""
        let document = try JSONSerialization.jsonObject(with: Data(ring.utf8)) as? [String: Any]
        let reclaimed = ((document?["ring"] as? [String: Any])?["reclaimed"] as? [[String: Any]]) ?? []
        let dead = reclaimed.compactMap { ($0["dead"] as? [String: Any])?["nickname"] as? String }
        let winners = reclaimed.compactMap { ($0["winner"] as? [String: Any])?["nickname"] as? String }
        #expect(dead == ["node-2"] && winners == ["node-0"], "\(reclaimed)")

        try await lab.down()
        #expect(NetworkNamespace.list().filter { $0.hasPrefix("cnilab-\(name)-") }.isEmpty)
    }
}
