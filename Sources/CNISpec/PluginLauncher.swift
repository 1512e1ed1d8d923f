import ChildProcess

/// What a plugin process produced.
public struct PluginProcessOutput: Sendable {
    /// The exit status; a process killed by a signal reports 128 + the signal number.
    public var exitStatus: Int32
    public var standardOutput: [UInt8]
    public var standardError: [UInt8]

    public init(exitStatus: Int32, standardOutput: [UInt8], standardError: [UInt8] = []) {
        self.exitStatus = exitStatus
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    public init(_ output: ChildProcess.Output) {
        switch output.status {
        case .exited(let code): exitStatus = code
        case .signaled(let signal): exitStatus = 128 + signal
        }
        standardOutput = output.standardOutput
        standardError = output.standardError
    }
}

/// Starts a plugin executable with an environment and stdin, and collects its output.
///
/// The runtime side (``CNIRuntime``) and delegation (``DelegatedPlugin``) go through this
/// protocol, so a caller decides where plugins run: ``ChildProcessLauncher`` runs them in the
/// caller's network namespace; a launcher built on `NetworkNamespace.runProcess` runs them "on
/// a node" (a plugin creates its host side in the namespace it runs in).
public protocol PluginLauncher: Sendable {
    func run(executable: String, environment: [String: String], standardInput: [UInt8]) async throws -> PluginProcessOutput
}

/// Runs plugins as child processes of this process (`posix_spawn`, no shell).
public struct ChildProcessLauncher: PluginLauncher {
    /// Kill a plugin that runs longer than this.
    public var timeoutMilliseconds: Int?

    public init(timeoutMilliseconds: Int? = 120_000) { self.timeoutMilliseconds = timeoutMilliseconds }

    public func run(executable: String, environment: [String: String], standardInput: [UInt8]) async throws -> PluginProcessOutput {
        PluginProcessOutput(
            try ChildProcess.run(
                executable, environment: environment, standardInput: standardInput,
                timeoutMilliseconds: timeoutMilliseconds))
    }
}

/// Finds and executes one plugin binary, mapping its outcome to bytes or a ``CNIError``.
enum PluginExecution {
    static func find(_ type: String, in directories: [String]) throws(CNIError) -> String {
        guard !type.isEmpty, !type.contains("/"), let path = ChildProcess.find(type, in: directories) else {
            throw CNIError(.internal, "failed to find plugin \"\(type)\" in path \(directories)")
        }
        return path
    }

    /// Runs the plugin; returns its stdout on exit status 0, throws its error document (or a
    /// 999 error with its stderr) otherwise.
    static func execute(
        _ executable: String, environment: [String: String], configuration: [UInt8], launcher: any PluginLauncher,
        standardError: OutputSink? = nil
    ) async throws(CNIError) -> [UInt8] {
        let output: PluginProcessOutput
        do {
            output = try await launcher.run(executable: executable, environment: environment, standardInput: configuration)
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.internal, "failed to run plugin \(executable)", details: "\(error)")
        }
        if let standardError, !output.standardError.isEmpty { standardError.write(output.standardError) }
        guard output.exitStatus == 0 else {
            if var error = try? CNIJSON.decode(CNIError.self, from: output.standardOutput) {
                error.cniVersion = nil
                throw error
            }
            let stderr = String(decoding: output.standardError, as: UTF8.self)
            throw CNIError(
                .internal, "plugin \(executable) failed with exit status \(output.exitStatus)",
                details: stderr.isEmpty ? String(decoding: output.standardOutput, as: UTF8.self) : stderr)
        }
        return output.standardOutput
    }
}
