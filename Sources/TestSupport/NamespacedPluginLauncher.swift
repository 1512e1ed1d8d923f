import CNISpec
import ChildProcess
import Namespaces

/// Runs CNI plugins inside a node's network namespace, as a container runtime on that node
/// would: give it to `CNIRuntime(launcher:)`.
///
/// A dedicated thread inside the node spawns the plugin and waits for it, so no thread of the
/// concurrency pool blocks and parallel ADDs really run in parallel.
public struct NamespacedPluginLauncher: PluginLauncher {
    public let namespace: NetworkNamespace
    /// The plugin is killed (SIGKILL) and the call fails after this long.
    public var timeoutMilliseconds: Int

    public init(namespace: NetworkNamespace, timeoutMilliseconds: Int = 30_000) {
        self.namespace = namespace
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public func run(executable: String, environment: [String: String], standardInput: [UInt8]) async throws -> PluginProcessOutput {
        let timeout = timeoutMilliseconds
        return PluginProcessOutput(
            try await namespace.run {
                try ChildProcess.run(executable, environment: environment, standardInput: standardInput, timeoutMilliseconds: timeout)
            })
    }
}

/// The error a CNI runtime call threw (a non-CNI error as `.internal`), or nil when it succeeded.
public func cniError(_ body: () async throws -> Void) async -> CNIError? {
    do {
        try await body()
        return nil
    } catch let error as CNIError {
        return error
    } catch {
        return CNIError(.internal, "\(error)")
    }
}
