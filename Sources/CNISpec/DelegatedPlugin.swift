/// A plugin this plugin delegates to (usually IPAM), found on CNI_PATH and run with the same
/// environment and the same configuration, as the specification's section 4 describes.
///
/// ```swift
/// let ipam = DelegatedPlugin(type: config.ipam!.type, request: request)
/// return try await ipam.add { allocation in
///     try configureInterface(with: allocation)   // if this throws, ipam DEL runs
///     return makeResult(allocation)
/// }
/// ```
public struct DelegatedPlugin: Sendable {
    /// The executable name (`ipam.type`).
    public var type: String
    /// The calling plugin's environment (CNI_COMMAND is replaced per call).
    public var environment: [String: String]
    /// The configuration passed to the calling plugin, unchanged.
    public var configuration: [UInt8]
    public var pluginPath: [String]
    public var version: CNIVersion
    public var launcher: any PluginLauncher
    /// Receives the delegated plugin's stderr.
    public var standardError: OutputSink

    public init(type: String, request: PluginRequest, launcher: any PluginLauncher = ChildProcessLauncher()) {
        self.type = type
        self.environment = request.environment
        self.configuration = request.configurationBytes
        self.pluginPath = request.pluginPath
        self.version = request.version
        self.launcher = launcher
        self.standardError = request.standardError
    }

    /// ADD: the delegated plugin's result (in the configuration's version's layout).
    public func add() async throws(CNIError) -> AnyCNIResult {
        let output = try await execute(.add)
        return try AnyCNIResult(decoding: output, assumingVersion: version)
    }

    /// ADD, then `body` with the result. If the delegated ADD fails, or `body` throws, runs DEL
    /// on the delegated plugin (ignoring its outcome) and rethrows, so an allocation does not
    /// leak (the specification's section 4).
    public func add<T>(_ body: (CNIResult) async throws -> T) async throws -> T {
        let result: CNIResult
        do {
            result = try await add().current()
        } catch {
            try? await delete()
            throw error
        }
        do {
            return try await body(result)
        } catch {
            try? await delete()
            throw error
        }
    }

    public func delete() async throws(CNIError) { _ = try await execute(.delete) }
    public func check() async throws(CNIError) { _ = try await execute(.check) }
    public func garbageCollect() async throws(CNIError) { _ = try await execute(.garbageCollect) }
    public func status() async throws(CNIError) { _ = try await execute(.status) }

    private func execute(_ command: CNICommand) async throws(CNIError) -> [UInt8] {
        let executable = try PluginExecution.find(type, in: pluginPath)
        var environment = self.environment
        environment["CNI_COMMAND"] = command.rawValue
        return try await PluginExecution.execute(
            executable, environment: environment, configuration: configuration, launcher: launcher,
            standardError: standardError)
    }
}
