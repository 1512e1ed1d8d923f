import ChildProcess
import Namespaces

/// Runs CNI plugins inside a node's network namespace, as a container runtime on that node
/// would: the plugin creates its host side (bridge, host veth, routes) in the namespace it
/// runs in. Pass it to `CNIRuntime(pluginDirectories:cacheDirectory:launcher:)`.
///
/// ```swift
/// let runtime = CNIRuntime(
///     pluginDirectories: ["/usr/lib/cni"], cacheDirectory: "/tmp/cache",
///     launcher: NamespacePluginLauncher(namespace: node))
/// ```
public struct NamespacePluginLauncher: PluginLauncher {
    /// The node namespace the plugins run in.
    public let namespace: NetworkNamespace
    /// A plugin running longer is killed and the call fails.
    public let timeoutMilliseconds: Int

    public init(namespace: NetworkNamespace, timeoutMilliseconds: Int = 30_000) {
        self.namespace = namespace
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    public func run(executable: String, environment: [String: String], standardInput: [UInt8]) async throws -> PluginProcessOutput {
        let namespace = self.namespace
        let timeout = timeoutMilliseconds
        // The spawn happens on a dedicated thread inside the namespace; run it off the pool.
        return try await namespace.run {
            PluginProcessOutput(
                try ChildProcess.run(
                    executable, environment: environment, standardInput: standardInput, timeoutMilliseconds: timeout))
        }
    }
}
