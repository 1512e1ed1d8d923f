// calico-cni-bench: CNI ADD/DEL time of swift-calico against the reference ptp + host-local.
//
// Usage (root): calico-cni-bench [--pods N] [--plugin-dir DIR]
//
// One fresh node namespace and N pod namespaces; for each configuration, N sequential ADDs
// (one pod each) then N DELs, each plugin run inside the node namespace. The time measured is
// the plugin process only (spawn to exit, delegated IPAM included). Configurations:
//   swift-calico + host-local (delegated), swift-calico + calico-ipam (in process, file store),
//   ptp + host-local (reference plugins in /usr/lib/cni).
// Build swift-calico in release first: swift build -c release --product swift-calico.
import ChildProcess
import Foundation
import Namespaces

struct BenchError: Error, CustomStringConvertible { var description: String }

var pods = 50
var pluginDirectory = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--pods": pods = Int(arguments.popFirst() ?? "") ?? pods
    case "--plugin-dir": pluginDirectory = arguments.popFirst() ?? pluginDirectory
    default:
        FileHandle.standardError.write(Data("usage: calico-cni-bench [--pods N] [--plugin-dir DIR]\n".utf8))
        exit(2)
    }
}

let tag = "swcni-bench-calico-\(getpid())"
let directory = NSTemporaryDirectory() + tag
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
let node = try NetworkNamespace.create(name: tag + "-node")
var podNamespaces: [NetworkNamespace] = []
@MainActor func cleanup() {
    for index in 0..<pods { try? NetworkNamespace.delete(name: "\(tag)-p\(index)") }
    try? NetworkNamespace.delete(name: tag + "-node")
    try? FileManager.default.removeItem(atPath: directory)
}
do {
    for index in 0..<pods { podNamespaces.append(try NetworkNamespace.create(name: "\(tag)-p\(index)")) }
} catch {
    cleanup()
    throw error
}

struct Configuration {
    var label: String
    var type: String
    var json: String
}

let configurations = [
    Configuration(
        label: "swift-calico + host-local", type: "swift-calico",
        json: #"{"cniVersion":"1.0.0","name":"bench-a","type":"swift-calico","ipam":{"type":"host-local","subnet":"10.65.0.0/24","dataDir":"\#(directory)/hl-a"}}"#),
    Configuration(
        label: "swift-calico + calico-ipam (file store)", type: "swift-calico",
        json: #"{"cniVersion":"1.0.0","name":"bench-b","type":"swift-calico","datastore":"file:\#(directory)/store","nodeName":"node-1","ipam":{"type":"calico-ipam","pools":[{"cidr":"10.244.0.0/16","blockSize":26}]}}"#),
    Configuration(
        label: "reference ptp + host-local", type: "ptp",
        json: #"{"cniVersion":"1.0.0","name":"bench-c","type":"ptp","ipMasq":false,"ipam":{"type":"host-local","subnet":"10.66.0.0/24","dataDir":"\#(directory)/hl-c"}}"#),
]

@MainActor func run(_ configuration: Configuration, command: String, pod index: Int) throws -> Double {
    let executable = configuration.type == "ptp" ? "/usr/lib/cni/ptp" : pluginDirectory + "/" + configuration.type
    let environment = [
        "CNI_COMMAND": command, "CNI_CONTAINERID": "bench-\(index)", "CNI_NETNS": podNamespaces[index].path,
        "CNI_IFNAME": "eth0", "CNI_PATH": pluginDirectory + ":/usr/lib/cni", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    ]
    let start = ContinuousClock.now
    let output = try node.runProcess(executable, environment: environment, standardInput: Array(configuration.json.utf8), timeoutMilliseconds: 30_000)
    let elapsed = ContinuousClock.now - start
    guard output.status == .exited(0) else {
        throw BenchError(description: "\(configuration.label) \(command) #\(index) failed: \(String(decoding: output.standardOutput, as: UTF8.self))")
    }
    return Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
}

print("| Configuration | ADD median (ms) | ADD p95 (ms) | DEL median (ms) | DEL p95 (ms) |")
print("|---|---|---|---|---|")
do {
    for configuration in configurations {
        var adds: [Double] = []
        var deletes: [Double] = []
        for index in 0..<pods { adds.append(try run(configuration, command: "ADD", pod: index)) }
        for index in 0..<pods { deletes.append(try run(configuration, command: "DEL", pod: index)) }
        let figures = [percentile(adds, 0.5), percentile(adds, 0.95), percentile(deletes, 0.5), percentile(deletes, 0.95)]
        print("| \(configuration.label) | " + figures.map { String(format: "%.1f", $0) }.joined(separator: " | ") + " |")
    }
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    cleanup()
    exit(1)
}
cleanup()
