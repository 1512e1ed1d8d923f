import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// A 3-node routed cluster built by the test: a fabric namespace with bridge `br0`
/// (192.168.100.254/24), node namespaces on it (eth0 192.168.100.1N/24, default route via
/// the fabric), one swift-calico-node per node sharing a file datastore, pods as namespaces
/// networked by swift-calico with the block-affinity IPAM.
final class CalicoCluster: @unchecked Sendable {
    // @unchecked: the agent table is only touched by the (serialized) test that owns the cluster.
    let fabric: NetworkNamespace
    let nodes: [NetworkNamespace]
    let directory: String
    let harnesses: [CalicoTestNode]
    var agents: [Int: RunningProcess] = [:]

    var configPath: String { directory + "/calico.json" }
    func nodeAddress(_ index: Int) -> String { "192.168.100.\(11 + index)" }

    init(fabric: NetworkNamespace, nodes: [NetworkNamespace], directory: String, gracefulRestartTime: Int = 5) throws {
        self.fabric = fabric
        self.nodes = nodes
        self.directory = directory
        harnesses = nodes.indices.map { CalicoTestNode(node: nodes[$0], directory: directory, nodeName: "node-\($0 + 1)") }
        try fabric.ip(["link", "add", "br0", "type", "bridge"])
        try fabric.ip(["addr", "add", "192.168.100.254/24", "dev", "br0"])
        try fabric.ip(["link", "set", "br0", "up"])
        for (index, node) in nodes.enumerated() {
            try fabric.ip(["link", "add", "f\(index)", "type", "veth", "peer", "name", "eth0", "netns", node.name!])
            try fabric.ip(["link", "set", "f\(index)", "master", "br0", "up"])
            try node.ip(["addr", "add", nodeAddress(index) + "/24", "dev", "eth0"])
            try node.ip(["link", "set", "eth0", "up"])
            try node.ip(["route", "add", "default", "via", "192.168.100.254"])
        }
        let config = """
            {"bgp":{"asNumber":64512,"nodeToNodeMeshEnabled":true,"listenPort":179,"holdTime":3,"keepaliveTime":1,
                    "gracefulRestartTime":\(gracefulRestartTime),"connectRetryTime":1},
             "ipPools":[{"cidr":"10.244.0.0/16","blockSize":26,"natOutgoing":true}]}
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts node `index`'s agent inside its namespace; `address`: how it finds its address
    /// (default `--address 192.168.100.1N`), `environment` its environment (default inherited).
    func startAgent(_ index: Int, address: [String]? = nil, environment: [String: String]? = nil) throws {
        let arguments = [
            "--node", "node-\(index + 1)", "--config", configPath, "--store", "file:" + harnesses[index].storeDirectory,
            "--listen", "127.0.0.1:9099", "--state-dir", directory + "/state-\(index + 1)", "--resync-interval-ms", "300",
        ] + (address ?? ["--address", nodeAddress(index)])
        agents[index] = try nodes[index].launchProcess(
            TestDirectories.products + "/swift-calico-node", arguments: arguments, environment: environment,
            standardError: .file(directory + "/agent-\(index + 1).log"))
    }

    func stopAgent(_ index: Int, signal: Int32) {
        guard let agent = agents.removeValue(forKey: index) else { return }
        _ = agent.signal(signal)
        _ = agent.terminate(graceMilliseconds: 5_000)
    }

    func stopAll() {
        for index in agents.keys { stopAgent(index, signal: SIGTERM) }
    }

    /// `ip -j route show proto bgp` in node `index`: destination → gateway.
    func bgpRoutes(_ index: Int) throws -> [String: String] {
        let text = try nodes[index].ip(["-j", "route", "show", "proto", "bgp"])
        guard let entries = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [:] }
        var routes: [String: String] = [:]
        for entry in entries {
            if let destination = entry["dst"] as? String { routes[destination] = entry["gateway"] as? String ?? "" }
        }
        return routes
    }

    /// Adds a pod on node `index` through swift-calico; returns its address.
    func addPod(_ pod: NetworkNamespace, node index: Int, id: String) async throws -> String {
        let harness = harnesses[index]
        let result = try await harness.runtime.add(harness.conflist(blocks: true), harness.attachment(id, pod: pod)).current()
        let address = try #require(result.ips.first?.address.address)
        return "\(address)"
    }

    func agentLog(_ index: Int) -> String {
        (try? String(contentsOfFile: directory + "/agent-\(index + 1).log", encoding: .utf8)) ?? ""
    }
}
