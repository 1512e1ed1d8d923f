import ChildProcess
import CNISpec
import Datastore
import Foundation
import Namespaces
import NetPrimitives
import Netlink
import Testing
import TestSupport

struct CanalTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Node namespaces on a bridge in a fabric namespace (underlay 192.168.60.1X/24 on `eth0`), a
/// file store in a temporary directory holding flannel's VXLAN configuration, one
/// `swift-canald` per node (which runs `swift-flanneld`), and pods added with the swift-canal
/// plugin through ``CNIRuntime`` inside their node.
final class CanalCluster: @unchecked Sendable {
    // @unchecked: used by one test task at a time; `agents` is only touched from it.
    let fabric: NetworkNamespace
    let nodes: [NetworkNamespace]
    let directory: String
    let store: any Datastore
    var agents: [RunningProcess?]

    init(fabric: NetworkNamespace, nodes: [NetworkNamespace]) async throws {
        self.fabric = fabric
        self.nodes = nodes
        directory = NSTemporaryDirectory() + "swcni-canal-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory + "/store", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory + "/plugins/swift-canal", withDestinationPath: Self.binary("swift-canal"))
        store = try FileDatastore(directory: directory + "/store", pollIntervalMilliseconds: 20)
        agents = Array(repeating: nil, count: nodes.count)
        let bridge = try NetlinkHandle(namespace: fabric)
        try bridge.addLink(.bridge("br0"))
        try bridge.setLinkUp("br0")
        for (index, node) in nodes.enumerated() {
            let port = try InterfaceName("n\(index + 1)")
            try bridge.addLink(.veth(port, peer: "eth0", peerNamespace: node))
            try bridge.setMaster("br0", of: port)
            try bridge.setLinkUp(port)
            let handle = try NetlinkHandle(namespace: node)
            try handle.addAddress(Address(try IPNetwork(parsing: "192.168.60.1\(index + 1)/24")), device: "eth0")
            try handle.setLinkUp("eth0")
        }
        try await store.put(KeyLayout.flannelConfig(), string: #"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#)
    }

    /// Where each node's swift-canald serves /healthz and /metrics, inside its node namespace.
    static let listen = "127.0.0.1:9102"

    /// `GET path` from swift-canald on node `index`: the body, or nil when it did not answer 200.
    func http(_ index: Int, _ path: String) throws -> String? {
        let result = try nodes[index].runProcess(
            "/usr/bin/curl", arguments: ["-sf", "-m", "3", "http://\(Self.listen)\(path)"], timeoutMilliseconds: 5_000)
        return result.status.isSuccess ? String(decoding: result.standardOutput, as: UTF8.self) : nil
    }

    static func binary(_ name: String) -> String { TestDirectories.products + "/" + name }

    func nodeName(_ index: Int) -> String { "node-\(index + 1)" }
    func subnetFile(_ index: Int) -> String { directory + "/subnet-\(index + 1).env" }
    func logFile(_ index: Int) -> String { directory + "/canald-\(index + 1).log" }
    func log(_ index: Int) -> String { (try? String(contentsOfFile: logFile(index), encoding: .utf8)) ?? "" }

    func start(_ index: Int) throws {
        agents[index] = try nodes[index].launchProcess(
            Self.binary("swift-canald"),
            arguments: ["--node", nodeName(index), "--store", "file:" + directory + "/store", "--iface", "eth0",
                        "--subnet-file", subnetFile(index), "--flanneld", Self.binary("swift-flanneld"), "--resync-interval", "2",
                        "--listen", Self.listen],
            standardError: .file(logFile(index)))
    }

    func tearDown() {
        for agent in agents.compactMap({ $0 }) { _ = agent.terminate(graceMilliseconds: 3000) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    func conflist(_ index: Int) throws -> NetworkConfigurationList {
        let json = """
            {"cniVersion":"1.0.0","name":"canal","plugins":[{"type":"swift-canal","subnetFile":"\(subnetFile(index))",
             "dataDir":"\(directory)/ipam-\(index + 1)","datastore":"file:\(directory)/store","nodeName":"\(nodeName(index))"}]}
            """
        return try NetworkConfigurationList(decoding: Array(json.utf8))
    }

    func runtime(_ index: Int) -> CNIRuntime {
        CNIRuntime(
            pluginDirectories: [directory + "/plugins"], cacheDirectory: directory + "/cache-\(index + 1)",
            launcher: NamespacedPluginLauncher(namespace: nodes[index]), baseEnvironment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    func attachment(_ pod: NetworkNamespace, namespace: String, name: String) throws -> RuntimeAttachment {
        RuntimeAttachment(
            containerID: "\(namespace)-\(name)", networkNamespace: "/run/netns/" + pod.name!, interfaceName: "eth0",
            arguments: CNIArguments([.init(key: "K8S_POD_NAMESPACE", value: namespace), .init(key: "K8S_POD_NAME", value: name)]))
    }

    /// ADD through the runtime inside node `index`; returns the pod's address.
    func addPod(_ pod: NetworkNamespace, node index: Int, namespace: String, name: String) async throws -> String {
        let result = try await runtime(index).add(try conflist(index), try attachment(pod, namespace: namespace, name: name))
        guard let address = try result.current().ips.first?.address.address else { throw CanalTestError("no address for \(namespace)/\(name)") }
        return address.description
    }

    func deletePod(_ pod: NetworkNamespace, node index: Int, namespace: String, name: String) async throws {
        try await runtime(index).delete(try conflist(index), try attachment(pod, namespace: namespace, name: name))
    }
}
