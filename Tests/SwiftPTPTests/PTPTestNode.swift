import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import TestSupport

/// One node namespace running swift-ptp (or the reference ptp) through the CNISpec runtime,
/// with host-local's data directory and the result cache in a directory.
struct PTPTestNode {
    static let network = "ptpnet"
    let node: NetworkNamespace
    let directory: String
    let runtime: CNIRuntime

    var dataDirectory: String { directory + "/host-local" }

    init(node: NetworkNamespace, directory: String) {
        self.node = node
        self.directory = directory
        runtime = CNIRuntime(
            pluginDirectories: [TestDirectories.products, "/usr/lib/cni"], cacheDirectory: directory + "/cache",
            launcher: NamespacePluginLauncher(namespace: node))
    }

    /// A reference ptp configuration (host-local, a default route, MTU 1400) with `type`.
    func pluginConfiguration(type: String = "swift-ptp", ipMasq: Bool = false, ipam: [String: JSONValue]? = nil) -> [String: JSONValue] {
        [
            "type": .string(type), "ipMasq": .bool(ipMasq), "mtu": 1400,
            "ipam": .object(
                ipam ?? [
                    "type": "host-local", "subnet": "10.66.0.0/24", "dataDir": .string(dataDirectory),
                    "routes": [["dst": "0.0.0.0/0"]],
                ]),
        ]
    }

    func conflist(
        version: CNIVersion = .v1_0_0, type: String = "swift-ptp", ipMasq: Bool = false, ipam: [String: JSONValue]? = nil
    ) -> NetworkConfigurationList {
        NetworkConfigurationList(
            cniVersion: version.description, name: Self.network, plugins: [pluginConfiguration(type: type, ipMasq: ipMasq, ipam: ipam)])
    }

    func attachment(_ id: String, pod: NetworkNamespace) -> RuntimeAttachment {
        RuntimeAttachment(containerID: id, networkNamespace: pod.path, interfaceName: "eth0")
    }

    /// Addresses reserved by host-local (one file per address).
    func reservedAddresses() -> [String] {
        HostLocalFiles.reservedAddresses(dataDirectory: dataDirectory, network: Self.network)
    }

    /// The plugin binary run by hand in the node (raw protocol), for malformed requests.
    func runRaw(command: String, stdin: String, pod: NetworkNamespace?, containerID: String = "raw-1") throws -> ChildProcess.Output {
        try node.runPluginRaw(
            TestDirectories.products + "/swift-ptp", command: command, configuration: stdin, podNamespace: pod,
            containerID: containerID, pluginPath: [TestDirectories.products, "/usr/lib/cni"])
    }

    /// The host veth of the node whose address list shows `gateway` (the ptp host end).
    func hostEnd(carrying gateway: String) throws -> String? {
        let lines = try node.ip(["-o", "-4", "addr", "show"]).split(separator: "\n")
        guard let line = lines.first(where: { $0.contains(" \(gateway)/32 ") }) else { return nil }
        let fields = line.split(separator: " ")
        return fields.count > 1 ? String(fields[1]) : nil
    }
}

extension NetworkNamespace {
    /// `sysctl -n KEY` in this namespace.
    func sysctl(_ key: String) throws -> String {
        String(decoding: try runProcess("/usr/sbin/sysctl", arguments: ["-n", key]).standardOutput, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `iptables -t nat -S` in this namespace.
    func natRules() throws -> String {
        String(decoding: try runProcess("/usr/sbin/iptables", arguments: ["-w", "-t", "nat", "-S"]).standardOutput, as: UTF8.self)
    }
}

/// A configuration object as the bytes a plugin reads.
func jsonText(_ object: [String: JSONValue]) throws -> String {
    String(decoding: try CNIJSON.encode(JSONValue.object(object)), as: UTF8.self)
}
