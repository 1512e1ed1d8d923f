import NetPrimitives

/// Runs a ``CNIPlugin`` as the specification's execution protocol requires: reads and
/// validates the environment, reads the configuration, negotiates the version, dispatches the
/// command and writes exactly one JSON document (the result or the error) to stdout.
///
/// Everything it touches is injectable, so a test runs a plugin in-process:
/// ```swift
/// let output = OutputBuffer()
/// let status = await PluginMain(MyPlugin(), environment: env, standardInput: .bytes(config),
///                               standardOutput: .collecting(into: output)).run()
/// ```
/// A binary's synchronous `main` runs it with ``runOnCallingThread()`` and passes the status
/// to `exit` (the library never exits):
/// ```swift
/// @main enum Main { static func main() { exit(PluginMain(MyPlugin()).runOnCallingThread()) } }
/// ```
/// Do not make `main` `async` to call ``run()``: an async `main` ends its thread with
/// `pthread_exit`, whose forced unwind costs about 15 ms per call in a fully static binary.
/// ``run()`` is for tests and for callers already in an async context.
public struct PluginMain: Sendable {
    public let plugin: any CNIPlugin
    public var environment: [String: String]
    public var standardInput: InputSource
    public var standardOutput: OutputSink
    public var standardError: OutputSink

    public init(
        _ plugin: any CNIPlugin, environment: [String: String] = ProcessEnvironment.current(),
        standardInput: InputSource = .standardInput, standardOutput: OutputSink = .standardOutput,
        standardError: OutputSink = .standardError
    ) {
        self.plugin = plugin
        self.environment = environment
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    /// Runs the command; returns the exit status (0 on success, 1 after printing an error).
    public func run() async -> Int32 {
        var version: String? = nil
        do {
            if let output = try await dispatch(version: &version) { standardOutput.write(output) }
            return 0
        } catch {
            var failure = error
            if failure.cniVersion == nil { failure.cniVersion = version ?? plugin.supportedVersions.max()?.description }
            standardOutput.write((try? CNIJSON.encode(failure)) ?? Array("{\"code\":999,\"msg\":\"encoding failed\"}".utf8))
            return 1
        }
    }

    private var supported: [String] { plugin.supportedVersions.sorted().map(\.description) }

    private func dispatch(version: inout String?) async throws(CNIError) -> [UInt8]? {
        guard let commandName = environment["CNI_COMMAND"], !commandName.isEmpty else {
            standardError.write("\(plugin.about)\nCNI protocol versions supported: \(supported.joined(separator: ", "))\n")
            throw CNIError(.invalidEnvironmentVariables, "required env variables [CNI_COMMAND] missing")
        }
        guard let command = CNICommand(rawValue: commandName) else {
            throw CNIError(.invalidEnvironmentVariables, "unknown CNI_COMMAND: \(commandName)")
        }
        if command == .version { return try versionAnswer() }
        let request = try makeRequest(command, version: &version)
        return try await call(command, request)
    }

    private func versionAnswer() throws(CNIError) -> [UInt8] {
        let input = (try? standardInput.readAll()) ?? []
        let asked = (try? CNIJSON.decode(VersionProbe.self, from: input))?.cniVersion
        let answer = asked.flatMap { supported.contains($0) ? $0 : nil } ?? supported.last ?? CNIVersion.latest.description
        return try CNIJSON.encode(VersionInfo(cniVersion: answer, supportedVersions: supported))
    }

    private func makeRequest(_ command: CNICommand, version: inout String?) throws(CNIError) -> PluginRequest {
        let missing = command.requiredVariables.filter { (environment[$0] ?? "").isEmpty }
        guard missing.isEmpty else {
            throw CNIError(.invalidEnvironmentVariables, "required env variables [\(missing.joined(separator: ","))] missing")
        }
        let containerID = environment["CNI_CONTAINERID"] ?? ""
        if command.requiredVariables.contains("CNI_CONTAINERID"), !ContainerID.isValid(containerID) {
            throw CNIError(.invalidEnvironmentVariables, "invalid characters in CNI_CONTAINERID", details: containerID)
        }
        var interfaceName: InterfaceName? = nil
        if command.requiredVariables.contains("CNI_IFNAME"), let name = environment["CNI_IFNAME"] {
            do {
                interfaceName = try InterfaceName(name)
            } catch {
                throw CNIError(.invalidEnvironmentVariables, "invalid CNI_IFNAME", details: "\(error)")
            }
        }
        let arguments = try CNIArguments(parsing: environment["CNI_ARGS"] ?? "")
        let bytes = try standardInput.readAll()
        let negotiated = try negotiate(command, bytes, version: &version)
        return PluginRequest(
            command: command, containerID: containerID, networkNamespace: environment["CNI_NETNS"] ?? "",
            interfaceName: interfaceName, arguments: arguments,
            pluginPath: (environment["CNI_PATH"] ?? "").split(separator: ":").map(String.init),
            configurationBytes: bytes, version: negotiated, environment: environment, standardError: standardError)
    }

    /// Checks the configuration's name and version, as the reference skeleton does.
    private func negotiate(_ command: CNICommand, _ bytes: [UInt8], version: inout String?) throws(CNIError) -> CNIVersion {
        struct Header: Decodable {
            var name: String?
            var cniVersion: String?
        }
        let header: Header
        do {
            header = try CNIJSON.decode(Header.self, from: bytes)
        } catch {
            throw CNIError(.decodingFailure, "error unmarshalling network config", details: error.details ?? error.message)
        }
        let text = (header.cniVersion ?? "").isEmpty ? "0.1.0" : header.cniVersion!
        version = text
        guard let name = header.name, !name.isEmpty else { throw CNIError(.invalidNetworkConfig, "missing network name") }
        guard ContainerID.isValid(name) else { throw CNIError(.invalidNetworkConfig, "invalid network name", details: name) }
        if command.introducedIn > .v0_1_0 {
            let parsed = try CNIVersion(parsing: text)
            guard parsed >= command.introducedIn else {
                throw CNIError(.incompatibleVersion, "config version does not allow \(command.rawValue)", details: "config is \"\(text)\", \(command.rawValue) needs \(command.introducedIn) or later")
            }
        }
        guard supported.contains(text), let parsed = try? CNIVersion(parsing: text) else {
            throw CNIError(.incompatibleVersion, "incompatible CNI versions", details: "config is \"\(text)\", plugin supports \(supported)")
        }
        return parsed
    }

    private func call(_ command: CNICommand, _ request: PluginRequest) async throws(CNIError) -> [UInt8]? {
        do {
            switch command {
            case .add:
                let result = try await plugin.add(request)
                return try AnyCNIResult(result).converted(to: request.version).encoded()
            case .delete: try await plugin.delete(request)
            case .check: try await plugin.check(request)
            case .garbageCollect: try await plugin.garbageCollect(request)
            case .status: try await plugin.status(request)
            case .version: break
            }
            return nil
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.internal, "\(error)")
        }
    }
}
