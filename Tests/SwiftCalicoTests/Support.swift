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
        let namespace = self.namespace
        // Off the cooperative pool: the spawn blocks until the plugin exits.
        return try await Task.detached {
            PluginProcessOutput(
                try namespace.runProcess(executable, environment: environment, standardInput: standardInput, timeoutMilliseconds: 30_000))
        }.value
    }
}

/// `ip …` inside a namespace.
@discardableResult
func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> String {
    let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5_000)
    return String(decoding: output.standardOutput, as: UTF8.self)
}

/// One ping from inside `namespace`; true when answered within a second.
func ping(from namespace: NetworkNamespace, _ address: String) throws -> Bool {
    let output = try namespace.runProcess("/usr/bin/ping", arguments: ["-c", "1", "-W", "1", address], timeoutMilliseconds: 5_000)
    return output.status == .exited(0)
}

func temporaryDirectory() throws -> String {
    var template = Array("/tmp/swcni-calico-XXXXXX".utf8CString)
    let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    try #require(created != nil)
    return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
}

func removeDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// The directory of the test bundle's sibling products (the swift-calico binaries).
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

/// Polls `condition` every 100 ms until it holds or `seconds` pass.
func eventually(within seconds: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try condition()
}

/// The host interface swift-calico names for a pod without Kubernetes arguments
/// (mirrors PodIdentity.hostInterfaceName: FNV-1a 64 of "containerID.ifname").
func calicoHostInterface(containerID: String, interfaceName: String = "eth0") -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in (containerID + "." + interfaceName).utf8 {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return "cali" + (String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(11)
}
