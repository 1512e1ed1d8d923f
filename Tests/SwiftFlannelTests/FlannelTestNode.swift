import CNISpec
import ChildProcess
import Foundation
import Namespaces
import NetPrimitives
import Testing

/// Runs plugins inside a node's network namespace, as a container runtime on that node would.
struct NodeLauncher: PluginLauncher {
    let namespace: NetworkNamespace

    func run(executable: String, environment: [String: String], standardInput: [UInt8]) async throws -> PluginProcessOutput {
        // A dedicated thread inside the node spawns the plugin and waits for it: no thread of
        // the concurrency pool blocks, so parallel ADDs really run in parallel.
        PluginProcessOutput(
            try await namespace.run {
                try ChildProcess.run(executable, environment: environment, standardInput: standardInput, timeoutMilliseconds: 30_000)
            })
    }
}

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
            pluginDirectories: [productsDirectory(), "/usr/lib/cni"], cacheDirectory: directory + "/cache",
            launcher: NodeLauncher(namespace: node))
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
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/cbr0")) ?? []
        return entries.filter { IPAddress($0) != nil }.sorted()
    }

    /// Runs the plugin binary by hand in the node (raw protocol), for malformed requests.
    func runRaw(command: String, stdin: String, pod: NetworkNamespace?, extra: [String: String] = [:]) throws -> ChildProcess.Output {
        var environment = [
            "CNI_COMMAND": command, "CNI_CONTAINERID": "raw-1", "CNI_IFNAME": "eth0", "CNI_PATH": productsDirectory(),
            "CNI_NETNS": pod?.path ?? "/var/run/netns/swcni-missing", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        environment.merge(extra) { $1 }
        return try node.runProcess(
            productsDirectory() + "/swift-flannel", environment: environment, standardInput: Array(stdin.utf8),
            timeoutMilliseconds: 30_000)
    }
}

/// `ip …` inside a namespace.
func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> String {
    let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5_000)
    return String(decoding: output.standardOutput, as: UTF8.self)
}

/// One ping from inside `namespace`; true when answered within two seconds (a loaded CI
/// machine can be slow to schedule the first ARP exchange).
func ping(from namespace: NetworkNamespace, _ address: IPAddress) throws -> Bool {
    let output = try namespace.runProcess(
        "/usr/bin/ping", arguments: ["-c", "1", "-W", "2", "\(address)"], timeoutMilliseconds: 10_000)
    return output.status == .exited(0)
}

func temporaryDirectory() throws -> String {
    var template = Array("/tmp/swcni-flannel-XXXXXX".utf8CString)
    let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    try #require(created != nil)
    return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
}

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// The directory of the test bundle's sibling products (the swift-flannel binary).
func productsDirectory() -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (executable as NSString).deletingLastPathComponent
}

/// The error a runtime call threw.
func cniError(_ body: () async throws -> Void) async -> CNIError? {
    do {
        try await body()
        return nil
    } catch let error as CNIError {
        return error
    } catch {
        return CNIError(.internal, "\(error)")
    }
}
