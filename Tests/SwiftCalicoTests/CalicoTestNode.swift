import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import TestSupport

/// One node namespace running swift-calico through the CNISpec runtime, with host-local's
/// data directory, the result cache and (for block IPAM) the file datastore in a directory.
struct CalicoTestNode {
    let node: NetworkNamespace
    let directory: String
    let nodeName: String
    let runtime: CNIRuntime

    var dataDirectory: String { directory + "/host-local" }
    var storeDirectory: String { directory + "/store" }
    /// The agent's `--state-dir` (CalicoCluster's `state-N` for `node-N`) and its readiness file.
    var stateDirectory: String { directory + "/state-" + (nodeName.split(separator: "-").last.map(String.init) ?? nodeName) }
    var readinessFile: String { stateDirectory + "/ready" }

    init(node: NetworkNamespace, directory: String, nodeName: String = "node-1") {
        self.node = node
        self.directory = directory
        self.nodeName = nodeName
        runtime = CNIRuntime(
            pluginDirectories: [TestDirectories.products, "/usr/lib/cni"], cacheDirectory: directory + "/cache-\(nodeName)",
            launcher: NamespacedPluginLauncher(namespace: node))
    }

    /// swift-calico with host-local (delegated) or the block-affinity IPAM (in process).
    func pluginConfiguration(blocks: Bool = false, ipamType: String = "host-local") -> [String: JSONValue] {
        if blocks {
            return [
                "type": "swift-calico", "datastore": .string("file:" + storeDirectory), "nodeName": .string(nodeName),
                "readinessFile": .string(readinessFile),
                "ipam": ["type": "calico-ipam", "pools": [["cidr": "10.244.0.0/16", "blockSize": 26]]],
            ]
        }
        return [
            "type": "swift-calico", "readinessFile": .string(readinessFile),
            "ipam": ["type": .string(ipamType), "subnet": "10.65.0.0/24", "dataDir": .string(dataDirectory)],
        ]
    }

    func conflist(version: CNIVersion = .v1_0_0, blocks: Bool = false, ipamType: String = "host-local") -> NetworkConfigurationList {
        NetworkConfigurationList(
            cniVersion: version.description, name: "k8s-pod-network", plugins: [pluginConfiguration(blocks: blocks, ipamType: ipamType)])
    }

    func attachment(_ id: String, pod: NetworkNamespace) -> RuntimeAttachment {
        RuntimeAttachment(containerID: id, networkNamespace: pod.path, interfaceName: "eth0")
    }

    /// Addresses reserved by host-local (one file per address).
    func reservedAddresses() -> [String] {
        HostLocalFiles.reservedAddresses(dataDirectory: dataDirectory, network: "k8s-pod-network")
    }

    /// Runs the plugin binary by hand in the node (raw protocol), for malformed requests.
    func runRaw(command: String, stdin: String, pod: NetworkNamespace?, containerID: String = "raw-1") throws -> ChildProcess.Output {
        try node.runPluginRaw(
            TestDirectories.products + "/swift-calico", command: command, configuration: stdin, podNamespace: pod,
            containerID: containerID, pluginPath: [TestDirectories.products, "/usr/lib/cni"])
    }
}
