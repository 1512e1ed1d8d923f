import ChildProcess
import Datastore
import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// Issue 16, borrowed addresses and a node that leaves, on a calico lab whose pool holds two
/// /28 blocks for three nodes: the third node must borrow. Its pod's /32 is advertised over BGP,
/// learned by the block's owner over its blackhole and by every other node, so the pod is
/// reachable from everywhere; DEL withdraws the /32 everywhere. Then `node remove` leaves no
/// record of the node in the store, the other pods keep working, and a new node takes the
/// freed block.
@Suite(.serialized) struct CalicoBorrowLabTests {
    static let settings = CalicoSettings(
        holdTime: 3, connectRetryTime: 1, gracefulRestartTime: 5, resyncIntervalMilliseconds: 300, pool: "10.244.0.0/27", blockSize: 28)

    @Test func poolAndBlockSizeAreValidated() {
        for settings in [CalicoSettings(pool: "10.244.0.1/27"), CalicoSettings(pool: "fd00::/64"), CalicoSettings(pool: "10.244.0.0/27", blockSize: 26),
                         CalicoSettings(blockSize: 31), CalicoSettings(pool: "nonsense")] {
            #expect(throws: LabError.self, "\(settings)") { try settings.validate() }
        }
        #expect(throws: Never.self) { try Self.settings.validate() }
    }

    @Test(.privileged) func borrowedAddressesAreRoutedAndANodeLeavesCleanly() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .calico(Self.settings), nodeCount: 3))
        let configuration = try String(contentsOfFile: directory + "/calico.json", encoding: .utf8)
        #expect(configuration.contains("\"cidr\":\"10.244.0.0/27\",\"blockSize\":28"))

        let a = try await lab.addPod(try PodReference(namespace: "x", name: "a"), node: 0)
        let b = try await lab.addPod(try PodReference(namespace: "x", name: "b"), node: 1)
        let c = try await lab.addPod(try PodReference(namespace: "x", name: "c"), node: 2)
        let blockOfZero = await CalicoLab.blocks(lab, node: 0)
        let blockOfOne = await CalicoLab.blocks(lab, node: 1)
        #expect(blockOfZero == ["10.244.0.0/28"] && blockOfOne == ["10.244.0.16/28"], "\(blockOfZero) \(blockOfOne)")
        #expect(await CalicoLab.blocks(lab, node: 2) == ["10.244.0.0/27"], "node 2 claims no block: the lab reports the pool")
        let borrowed = try #require(c.address)
        #expect(borrowed.hasPrefix("10.244.0.") && Int(borrowed.split(separator: ".").last!)! < 16, "borrowed from node 0's block: \(borrowed)")

        // Every other node learns the /32 via node 2; node 0 holds it over its blackhole.
        let nodes = await lab.nodes()
        let learned = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            try [0, 1].allSatisfy { try CalicoLab.bgpRoutes(in: nodes[$0].networkNamespace)[borrowed] == nodes[2].underlayAddress }
        }
        #expect(learned != nil, "routes: \(nodes.map { (try? CalicoLab.bgpRoutes(in: $0.networkNamespace)) ?? [:] })")
        let status = try NetworkNamespace.open(name: nodes[2].networkNamespace).runProcess(
            LabTestSupport.productsDirectory + "/swift-calico-node",
            arguments: ["status", "--json", "--state-dir", directory + "/nodes/2/calico-node"], timeoutMilliseconds: 10_000)
        let report = try JSONSerialization.jsonObject(with: Data(status.standardOutput)) as? [String: Any]
        #expect(report?["borrowed"] as? [String] == [borrowed + "/32"], "\(status.standardOutputText) \(status.standardErrorText)")
        let blackholes = try CalicoLab.ipJSON(in: nodes[0].networkNamespace, ["route", "show", "proto", "93"]).compactMap { $0["dst"] as? String }
        #expect(blackholes == ["10.244.0.0/28"])
        // The blocks' routes may still be on their way: probe until every pair connects.
        var matrix: [ProbeResult] = []
        let connected = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            matrix = try await lab.probe(ProbeOptions(timeoutMilliseconds: 1_000))
            return matrix.allSatisfy(\.connected)
        }
        #expect(connected != nil && matrix.count == 3 * 2 * 4, "\(matrix.filter { !$0.connected })")
        for node in nodes {
            #expect(try Self.ping(borrowed, from: node.networkNamespace), "node \(node.index) cannot reach \(borrowed)")
        }

        // DEL: the /32 is withdrawn everywhere; node 0's blackhole drops traffic to it again.
        try await lab.deletePod(try PodReference(namespace: "x", name: "c"))
        let withdrawn = try await CalicoLab.waitUntil(timeoutMilliseconds: 30_000) {
            try nodes.allSatisfy { try CalicoLab.bgpRoutes(in: $0.networkNamespace)[borrowed] == nil }
        }
        #expect(withdrawn != nil, "routes: \(nodes.map { (try? CalicoLab.bgpRoutes(in: $0.networkNamespace)) ?? [:] })")

        // node remove 1: nothing of node-1 stays in the store; a and a pod on node 2 keep talking.
        let d = try await lab.addPod(try PodReference(namespace: "x", name: "d"), node: 2)
        try await lab.removeNode(1)
        let store = try StoreLocation.open(await lab.status().store)
        for item in try await store.list(prefix: "/").items {
            #expect(!item.key.contains("node-1") && !item.string.contains("\"node-1\""), "\(item.key) remains: \(item.string)")
        }
        #expect(try await store.get(KeyLayout.block("10.244.0.16/28")) == nil)
        var remaining: [ProbeResult] = []
        let stillConnected = try await CalicoLab.waitUntil(timeoutMilliseconds: 30_000) {
            remaining = try await Lab.probe([a, d], ProbeOptions(timeoutMilliseconds: 1_000))
            return remaining.allSatisfy(\.connected)
        }
        #expect(stillConnected != nil && remaining.count == 2 * 4, "\(remaining.filter { !$0.connected })")
        #expect(b.node == 1)

        // A new node takes node 1's block.
        let joined = try await lab.addNode()
        let e = try await lab.addPod(try PodReference(namespace: "x", name: "e"), node: joined.index)
        #expect(e.address?.hasPrefix("10.244.0.") == true && Int(e.address!.split(separator: ".").last!)! >= 16, "\(String(describing: e.address))")
        let claimed = try await CalicoLab.waitUntil(timeoutMilliseconds: 30_000) {
            await CalicoLab.blocks(lab, node: joined.index) == ["10.244.0.16/28"]
        }
        let joinedBlocks = await CalicoLab.blocks(lab, node: joined.index)
        #expect(claimed != nil, "\(joinedBlocks)")
        let rejoined = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            try await Lab.probe([a, d, e], ProbeOptions(ports: [80], timeoutMilliseconds: 500)).allSatisfy(\.connected)
        }
        #expect(rejoined != nil)
    }

    /// On etcd, the owner of a block another node borrows from leaves: nothing of it stays in
    /// the store, the block stays (unaffined) for the borrower, whose pod keeps working, and a
    /// new node takes the freed addresses.
    @Test(.privileged) func theOwnerOfABorrowedBlockLeavesOnEtcd() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: .calico(Self.settings), nodeCount: 3, store: .etcd))
        _ = try await lab.addPod(try PodReference(namespace: "x", name: "a"), node: 0)
        let b = try await lab.addPod(try PodReference(namespace: "x", name: "b"), node: 1)
        let c = try await lab.addPod(try PodReference(namespace: "x", name: "c"), node: 2)
        #expect(c.address.map { Int($0.split(separator: ".").last!)! < 16 } == true, "borrowed from node 0's block: \(String(describing: c.address))")

        try await lab.removeNode(0)
        let keys = try Self.etcdKeys(name)
        #expect(!keys.isEmpty)
        for (key, value) in keys {
            #expect(!key.contains("node-0") && !value.contains("\"node-0\""), "\(key) remains: \(value)")
        }
        let block = try #require(keys[KeyLayout.block("10.244.0.0/28")])
        #expect(!block.contains("affinity") && block.contains("x-c-"), "\(block)")
        var probes: [ProbeResult] = []
        let connected = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            probes = try await Lab.probe([b, c], ProbeOptions(timeoutMilliseconds: 1_000))
            return probes.allSatisfy(\.connected)
        }
        #expect(connected != nil, "\(probes.filter { !$0.connected })")

        let joined = try await lab.addNode()
        let e = try await lab.addPod(try PodReference(namespace: "x", name: "e"), node: joined.index)
        #expect(e.address.map { Int($0.split(separator: ".").last!)! < 16 } == true, "node 0's freed addresses: \(String(describing: e.address))")
        let rejoined = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            probes = try await Lab.probe([b, c, e], ProbeOptions(ports: [80], timeoutMilliseconds: 500))
            return probes.allSatisfy(\.connected)
        }
        #expect(rejoined != nil, "\(probes.filter { !$0.connected })")
    }

    /// Every key of the lab's etcd and its value (`etcdctl get --prefix /` in the fabric).
    static func etcdKeys(_ lab: String) throws -> [String: String] {
        let fabric = try NetworkNamespace.open(name: "cnilab-\(lab)-fabric")
        let output = try fabric.runProcess(
            "/usr/bin/etcdctl", arguments: ["--endpoints", "http://192.168.77.1:2379", "get", "--prefix", "/"],
            environment: ["ETCDCTL_API": "3"], timeoutMilliseconds: 10_000)
        let lines = output.standardOutputText.split(separator: "\n").map(String.init)
        return Dictionary(uniqueKeysWithValues: stride(from: 0, to: lines.count - 1, by: 2).map { (lines[$0], lines[$0 + 1]) })
    }

    /// One ICMP echo from a namespace.
    static func ping(_ address: String, from namespace: String) throws -> Bool {
        let output = try NetworkNamespace.open(name: namespace).runProcess(
            "/usr/bin/ping", arguments: ["-c", "1", "-W", "2", address], timeoutMilliseconds: 5_000)
        return output.status.isSuccess
    }
}
