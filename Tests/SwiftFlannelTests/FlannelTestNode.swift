import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// One test node: a node namespace running swift-flannel through the CNISpec runtime, with
/// subnet.env, the address store and the result cache in a temporary directory.
struct FlannelTestNode {
    static let clusterNetwork = "10.244.0.0/16"
    static let subnet = "10.244.1.1/24"

    let node: NetworkNamespace
    let directory: String
    let runtime: CNIRuntime

    var subnetFile: String { directory + "/subnet.env" }
    var dataDirectory: String { directory + "/data" }

    init(node: NetworkNamespace, directory: String, writeSubnetFile: Bool = true) throws {
        self.node = node
        self.directory = directory
        runtime = CNIRuntime(
            pluginDirectories: [TestDirectories.products, "/usr/lib/cni"], cacheDirectory: directory + "/cache",
            launcher: NamespacedPluginLauncher(namespace: node))
        if writeSubnetFile {
            try "FLANNEL_NETWORK=\(Self.clusterNetwork)\nFLANNEL_SUBNET=\(Self.subnet)\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
                .write(toFile: subnetFile, atomically: true, encoding: .utf8)
        }
    }

    /// The swift-flannel plugin entry (flannel's keys).
    func pluginConfiguration(defaultGateway: Bool = false) -> [String: JSONValue] {
        [
            "type": "swift-flannel", "subnetFile": .string(subnetFile), "dataDir": .string(dataDirectory),
            "delegate": ["bridge": "cni0", "isDefaultGateway": .bool(defaultGateway), "hairpinMode": true],
        ]
    }

    func conflist(version: CNIVersion = .v1_0_0, withPortmap: Bool = false) -> NetworkConfigurationList {
        var plugins = [pluginConfiguration()]
        if withPortmap { plugins.append(["type": "portmap", "capabilities": ["portMappings": true]]) }
        return NetworkConfigurationList(cniVersion: version.description, name: "cbr0", plugins: plugins)
    }

    func attachment(_ id: String, pod: NetworkNamespace, portMappings: JSONValue? = nil) -> RuntimeAttachment {
        RuntimeAttachment(
            containerID: id, networkNamespace: pod.path, interfaceName: "eth0",
            capabilityArguments: portMappings.map { ["portMappings": $0] } ?? [:])
    }

    /// Addresses reserved on disk (host-local format: one file per address).
    func reservedAddresses() -> [String] {
        HostLocalFiles.reservedAddresses(dataDirectory: dataDirectory, network: "cbr0")
    }

    /// Runs the plugin binary by hand in the node (raw protocol), for malformed requests.
    func runRaw(command: String, stdin: String, pod: NetworkNamespace?, extra: [String: String] = [:]) throws -> ChildProcess.Output {
        try node.runPluginRaw(
            TestDirectories.products + "/swift-flannel", command: command, configuration: stdin, podNamespace: pod,
            pluginPath: [TestDirectories.products], extraEnvironment: extra)
    }
}
