import CNISpec
import Namespaces
import Synchronization

/// Runs plugins inside a node's network namespace: a plugin creates its host side (bridge,
/// host veth, iptables rules) in the namespace it runs in.
struct NamespaceLauncher: PluginLauncher {
    let namespace: NetworkNamespace

    func run(executable: String, environment: [String: String], standardInput: [UInt8]) async throws -> PluginProcessOutput {
        PluginProcessOutput(
            try namespace.runProcess(
                executable, environment: environment, standardInput: standardInput, timeoutMilliseconds: 30_000))
    }
}

/// Wraps a launcher and remembers what each plugin was given.
final class RecordingLauncher: PluginLauncher {
    struct Call: Sendable {
        var plugin: String
        var command: String
        var configuration: JSONValue
    }

    let inner: any PluginLauncher
    private let calls = Mutex<[Call]>([])

    init(_ inner: any PluginLauncher) { self.inner = inner }

    var all: [Call] { calls.withLock { $0 } }

    func run(executable: String, environment: [String: String], standardInput: [UInt8]) async throws -> PluginProcessOutput {
        let configuration = (try? CNIJSON.decode(JSONValue.self, from: standardInput)) ?? .null
        let call = Call(
            plugin: String(executable.split(separator: "/").last ?? ""), command: environment["CNI_COMMAND"] ?? "",
            configuration: configuration)
        calls.withLock { $0.append(call) }
        return try await inner.run(executable: executable, environment: environment, standardInput: standardInput)
    }
}
