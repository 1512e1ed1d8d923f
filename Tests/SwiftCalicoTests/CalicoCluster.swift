import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// A routed calico cluster built by the test: a fabric namespace with bridge `br0`
/// (192.168.100.254/24, and fd00:100::fe/64 with IPv6), node namespaces on it (eth0
/// 192.168.100.1N/24 and/or fd00:100::1N/64, default routes via the fabric), one
/// swift-calico-node per node sharing a file datastore, pods as namespaces networked by
/// swift-calico with the block-affinity IPAM from the family's pools.
final class CalicoCluster: @unchecked Sendable {
    // @unchecked: the agent table is only touched by the (serialized) test that owns the cluster.
    /// IPv4 only (the default), dual-stack, or IPv6 only.
    enum Family { case ipv4, dual, ipv6 }

    static let pool4 = "10.244.0.0/16"
    static let pool6 = "fd00:10:244::/104"

    let family: Family
    let fabric: NetworkNamespace
    let nodes: [NetworkNamespace]
    let directory: String
    let harnesses: [CalicoTestNode]
    var agents: [Int: RunningProcess] = [:]

    var configPath: String { directory + "/calico.json" }
    func nodeAddress(_ index: Int) -> String { "192.168.100.\(11 + index)" }
    func nodeIPv6(_ index: Int) -> String { "fd00:100::\(11 + index)" }
    private var hasIPv4: Bool { family != .ipv6 }
    private var hasIPv6: Bool { family != .ipv4 }

    /// `peers`: the configuration file's global peers (JSON array), e.g. a bird2 in the fabric.
    init(
        family: Family = .ipv4, fabric: NetworkNamespace, nodes: [NetworkNamespace], directory: String,
        gracefulRestartTime: Int = 5, peers: String = "[]"
    ) throws {
        self.family = family
        self.fabric = fabric
        self.nodes = nodes
        self.directory = directory
        harnesses = nodes.indices.map { CalicoTestNode(node: nodes[$0], directory: directory, nodeName: "node-\($0 + 1)") }
        try fabric.ip(["link", "add", "br0", "type", "bridge"])
        if hasIPv6 { try fabric.ip(["-6", "addr", "add", "fd00:100::fe/64", "dev", "br0", "nodad"]) }
        if hasIPv4 { try fabric.ip(["addr", "add", "192.168.100.254/24", "dev", "br0"]) }
        try fabric.ip(["link", "set", "br0", "up"])
        for (index, node) in nodes.enumerated() {
            try fabric.ip(["link", "add", "f\(index)", "type", "veth", "peer", "name", "eth0", "netns", node.name!])
            try fabric.ip(["link", "set", "f\(index)", "master", "br0", "up"])
            if hasIPv6 { try node.ip(["-6", "addr", "add", nodeIPv6(index) + "/64", "dev", "eth0", "nodad"]) }
            if hasIPv4 { try node.ip(["addr", "add", nodeAddress(index) + "/24", "dev", "eth0"]) }
            try node.ip(["link", "set", "eth0", "up"])
            if hasIPv6 { try node.ip(["-6", "route", "add", "default", "via", "fd00:100::fe"]) }
            if hasIPv4 { try node.ip(["route", "add", "default", "via", "192.168.100.254"]) }
        }
        let pool4 = #"{"cidr":"\#(Self.pool4)","blockSize":26,"natOutgoing":true}"#
        let pool6 = #"{"cidr":"\#(Self.pool6)","blockSize":122,"natOutgoing":true}"#
        // The IPv6-only agents take their IPv6 pool from CALICO_IPV6POOL_CIDR instead.
        let pools = switch family {
        case .ipv4: "[\(pool4)]"
        case .dual: "[\(pool4),\(pool6)]"
        case .ipv6: "[]"
        }
        let config = """
            {"bgp":{"asNumber":64512,"nodeToNodeMeshEnabled":true,"listenPort":179,"holdTime":3,"keepaliveTime":1,
                    "gracefulRestartTime":\(gracefulRestartTime),"connectRetryTime":1},
             "peers":\(peers), "ipPools":\(pools)}
            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts node `index`'s agent inside its namespace; `address`: how it finds its address
    /// (default: IPv4 `--address 192.168.100.1N`, dual-stack also `--address6 fd00:100::1N`,
    /// IPv6-only calico/node's environment `IP=none`, `IP6`, `CALICO_IPV6POOL_CIDR`,
    /// `FELIX_IPV6SUPPORT`); `environment` its environment (default inherited).
    func startAgent(_ index: Int, address: [String]? = nil, environment: [String: String]? = nil) throws {
        var environment = environment
        let defaultAddress: [String]
        switch family {
        case .ipv4: defaultAddress = ["--address", nodeAddress(index)]
        case .dual: defaultAddress = ["--address", nodeAddress(index), "--address6", nodeIPv6(index)]
        case .ipv6:
            defaultAddress = []
            var ipv6 = environment ?? ProcessInfo.processInfo.environment
            ipv6["IP"] = "none"
            ipv6["IP6"] = nodeIPv6(index)
            ipv6["CALICO_IPV6POOL_CIDR"] = Self.pool6
            ipv6["CALICO_IPV6POOL_BLOCK_SIZE"] = "122"
            ipv6["CALICO_IPV6POOL_NAT_OUTGOING"] = "true"
            ipv6["FELIX_IPV6SUPPORT"] = "true"
            environment = ipv6
        }
        let arguments = [
            "--node", "node-\(index + 1)", "--config", configPath, "--store", "file:" + harnesses[index].storeDirectory,
            "--listen", "127.0.0.1:9099", "--state-dir", directory + "/state-\(index + 1)", "--resync-interval-ms", "300",
        ] + (address ?? defaultAddress)
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

    /// `ip -j [-6] route show proto bgp` in node `index`: destination → gateway.
    func bgpRoutes(_ index: Int, ipv6: Bool = false) throws -> [String: String] {
        let text = try nodes[index].ip((ipv6 ? ["-6"] : []) + ["-j", "route", "show", "proto", "bgp"])
        guard let entries = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [:] }
        var routes: [String: String] = [:]
        for entry in entries {
            if let destination = entry["dst"] as? String { routes[destination] = entry["gateway"] as? String ?? "" }
        }
        return routes
    }

    /// swift-calico's configuration: the block IPAM's IPv4 pool, or Calico's
    /// `assign_ipv4`/`assign_ipv6` and, IPv6-only, `ipv6_pools`.
    func conflist(_ index: Int) -> NetworkConfigurationList {
        var plugin = harnesses[index].pluginConfiguration(blocks: true)
        switch family {
        case .ipv4:
            break
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
    func addPodResult(_ pod: NetworkNamespace, node index: Int, id: String) async throws -> CNIResult {
        try await harnesses[index].runtime.add(conflist(index), harnesses[index].attachment(id, pod: pod)).current()
    }

    /// Adds a pod on node `index` through swift-calico; returns its (first) address.
    func addPod(_ pod: NetworkNamespace, node index: Int, id: String) async throws -> String {
        let result = try await addPodResult(pod, node: index, id: id)
        let address = try #require(result.ips.first?.address.address)
        return "\(address)"
    }

    func deletePod(_ pod: NetworkNamespace, node index: Int, id: String) async throws {
        try await harnesses[index].runtime.delete(conflist(index), harnesses[index].attachment(id, pod: pod))
    }

    func agentLog(_ index: Int) -> String {
        (try? String(contentsOfFile: directory + "/agent-\(index + 1).log", encoding: .utf8)) ?? ""
    }

    /// The /122 (IPv6) or /26 (IPv4) block of `address`.
    static func block(of address: IPAddress) throws -> String {
        try IPNetwork(address: address, prefixLength: address.family == .v4 ? 26 : 122).network.description
    }
}
