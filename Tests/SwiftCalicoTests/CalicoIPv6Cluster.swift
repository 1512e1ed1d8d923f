import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// A routed calico cluster of IPv6 nodes built by the test: a fabric namespace with bridge
/// `br0` (fd00:100::fe/64, and 192.168.100.254/24 when dual-stack), node namespaces on it
/// (eth0 fd00:100::1N/64 and 192.168.100.1N/24), one swift-calico-node per node sharing a file
/// datastore, pods networked by swift-calico with the block IPAM from an IPv6 pool (and an IPv4
/// one when dual-stack).
final class CalicoIPv6Cluster: @unchecked Sendable {
    // @unchecked: the agent table is only touched by the (serialized) test that owns the cluster.
    enum Family { case dual, ipv6 }

    static let pool4 = "10.244.0.0/16"
    static let pool6 = "fd00:10:244::/104"

    let family: Family
    let fabric: NetworkNamespace
    let nodes: [NetworkNamespace]
    let directory: String
    let harnesses: [CalicoTestNode]
    var agents: [Int: RunningProcess] = [:]

    var configPath: String { directory + "/calico.json" }
    func nodeIPv4(_ index: Int) -> String { "192.168.100.\(11 + index)" }
    func nodeIPv6(_ index: Int) -> String { "fd00:100::\(11 + index)" }

    /// `peers`: the configuration file's global peers (JSON array), e.g. a bird2 in the fabric.
    init(family: Family, fabric: NetworkNamespace, nodes: [NetworkNamespace], directory: String, peers: String = "[]") throws {
        self.family = family
        self.fabric = fabric
        self.nodes = nodes
        self.directory = directory
        harnesses = nodes.indices.map { CalicoTestNode(node: nodes[$0], directory: directory, nodeName: "node-\($0 + 1)") }
        try fabric.ip(["link", "add", "br0", "type", "bridge"])
        try fabric.ip(["-6", "addr", "add", "fd00:100::fe/64", "dev", "br0", "nodad"])
        if family == .dual { try fabric.ip(["addr", "add", "192.168.100.254/24", "dev", "br0"]) }
        try fabric.ip(["link", "set", "br0", "up"])
        for (index, node) in nodes.enumerated() {
            try fabric.ip(["link", "add", "f\(index)", "type", "veth", "peer", "name", "eth0", "netns", node.name!])
            try fabric.ip(["link", "set", "f\(index)", "master", "br0", "up"])
            try node.ip(["-6", "addr", "add", nodeIPv6(index) + "/64", "dev", "eth0", "nodad"])
            if family == .dual { try node.ip(["addr", "add", nodeIPv4(index) + "/24", "dev", "eth0"]) }
            try node.ip(["link", "set", "eth0", "up"])
            try node.ip(["-6", "route", "add", "default", "via", "fd00:100::fe"])
            if family == .dual { try node.ip(["route", "add", "default", "via", "192.168.100.254"]) }
        }
        // The IPv6-only agents take their IPv6 pool from CALICO_IPV6POOL_CIDR instead.
        let pools = family == .dual
            ? #"[{"cidr":"\#(Self.pool4)","blockSize":26,"natOutgoing":true},{"cidr":"\#(Self.pool6)","blockSize":122,"natOutgoing":true}]"#
            : "[]"
        let config = """
            {"bgp":{"asNumber":64512,"nodeToNodeMeshEnabled":true,"listenPort":179,"holdTime":3,"keepaliveTime":1,
                    "gracefulRestartTime":5,"connectRetryTime":1},
             "peers":\(peers), "ipPools":\(pools)}
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts node `index`'s agent: dual-stack with `--address` and `--address6`, IPv6-only
    /// with calico/node's environment (`IP=none`, `IP6`, `CALICO_IPV6POOL_CIDR`, `FELIX_IPV6SUPPORT`).
    func startAgent(_ index: Int) throws {
        var arguments = [
            "--node", "node-\(index + 1)", "--config", configPath, "--store", "file:" + harnesses[index].storeDirectory,
            "--state-dir", directory + "/state-\(index + 1)", "--resync-interval-ms", "300",
        ]
        var environment = ProcessInfo.processInfo.environment
        switch family {
        case .dual:
            arguments += ["--address", nodeIPv4(index), "--address6", nodeIPv6(index)]
        case .ipv6:
            environment["IP"] = "none"
            environment["IP6"] = nodeIPv6(index)
            environment["CALICO_IPV6POOL_CIDR"] = Self.pool6
            environment["CALICO_IPV6POOL_BLOCK_SIZE"] = "122"
            environment["CALICO_IPV6POOL_NAT_OUTGOING"] = "true"
            environment["FELIX_IPV6SUPPORT"] = "true"
        }
        agents[index] = try nodes[index].launchProcess(
            TestDirectories.products + "/swift-calico-node", arguments: arguments, environment: environment,
            standardError: .file(directory + "/agent-\(index + 1).log"))
    }

    func stopAll() {
        for agent in agents.values {
            _ = agent.signal(SIGTERM)
            _ = agent.terminate(graceMilliseconds: 5_000)
        }
        agents = [:]
    }

    /// swift-calico's configuration: Calico's `assign_ipv4`/`assign_ipv6` and, IPv6-only,
    /// `ipv6_pools`.
    func conflist(_ index: Int) -> NetworkConfigurationList {
        var plugin = harnesses[index].pluginConfiguration(blocks: true)
        switch family {
        case .dual:
            plugin["ipam"] = [
                "type": "calico-ipam", "assign_ipv4": "true", "assign_ipv6": "true",
                "pools": [["cidr": .string(Self.pool4), "blockSize": 26], ["cidr": .string(Self.pool6), "blockSize": 122]],
            ]
        case .ipv6:
            plugin["ipam"] = ["type": "calico-ipam", "assign_ipv4": "false", "assign_ipv6": "true", "ipv6_pools": [.string(Self.pool6)]]
        }
        return NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [plugin])
    }

    /// Adds a pod on node `index` through swift-calico; returns its result.
    func addPod(_ pod: NetworkNamespace, node index: Int, id: String) async throws -> CNIResult {
        try await harnesses[index].runtime.add(conflist(index), harnesses[index].attachment(id, pod: pod)).current()
    }

    func deletePod(_ pod: NetworkNamespace, node index: Int, id: String) async throws {
        try await harnesses[index].runtime.delete(conflist(index), harnesses[index].attachment(id, pod: pod))
    }

    /// `ip -j [-6] route show proto bgp` in node `index`: destination → gateway.
    func bgpRoutes(_ index: Int, ipv6: Bool) throws -> [String: String] {
        let text = try nodes[index].ip((ipv6 ? ["-6"] : []) + ["-j", "route", "show", "proto", "bgp"])
        guard let entries = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [:] }
        var routes: [String: String] = [:]
        for entry in entries {
            if let destination = entry["dst"] as? String { routes[destination] = entry["gateway"] as? String ?? "" }
        }
        return routes
    }

    func agentLog(_ index: Int) -> String {
        (try? String(contentsOfFile: directory + "/agent-\(index + 1).log", encoding: .utf8)) ?? ""
    }

    /// The /122 (IPv6) or /26 (IPv4) block of `address`.
    static func block(of address: IPAddress) throws -> String {
        try IPNetwork(address: address, prefixLength: address.family == .v4 ? 26 : 122).network.description
    }
}
