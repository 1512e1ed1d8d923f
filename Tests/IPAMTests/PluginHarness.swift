import ChildProcess
import Datastore
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Runs IPAM plugin binaries (swift-ipam, reference host-local) as separate processes.
struct PluginHarness {
    let directory: String
    let configurationPath: String
    var plugin: String

    static var swiftIPAM: String { TestDirectories.products + "/swift-ipam" }
    static let hostLocal = "/usr/lib/cni/host-local"

    init(directory: String, configuration: String, plugin: String = PluginHarness.swiftIPAM) throws {
        self.directory = directory
        self.plugin = plugin
        configurationPath = directory + "/\(UInt32.random(in: 0...UInt32.max)).conf"
        try writeText(configurationPath, configuration)
    }

    func environment(_ command: String, _ containerID: String, extra: [String: String] = [:]) -> [String: String] {
        ["CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_NETNS": "/var/run/netns/none", "CNI_IFNAME": "eth0",
         "CNI_PATH": "/usr/lib/cni", "PATH": "/usr/bin:/bin"].merging(extra) { $1 }
    }

    /// Starts the plugin in the background; stdout goes to `<directory>/<containerID>.<command>.out`.
    func launch(_ command: String, _ containerID: String, extra: [String: String] = [:]) throws -> RunningProcess {
        try ChildProcess.launch(
            "/bin/sh", arguments: ["-c", "exec \"$0\" < \"$1\"", plugin, configurationPath],
            environment: environment(command, containerID, extra: extra),
            standardOutput: .file(outputPath(command, containerID)), standardError: .file(directory + "/stderr.log"))
    }

    func outputPath(_ command: String, _ containerID: String) -> String { "\(directory)/\(containerID).\(command).out" }

    /// Runs once and returns (exit status, stdout).
    func run(_ command: String, _ containerID: String, extra: [String: String] = [:]) async throws -> (ExitStatus, String) {
        let environment = environment(command, containerID, extra: extra)
        let plugin = plugin
        let input = Array((readText(configurationPath) ?? "").utf8)
        let output = try await offPool { try ChildProcess.run(
            plugin, environment: environment, standardInput: input, timeoutMilliseconds: 30000) }
        return (output.status, output.standardOutputText)
    }

    /// Runs `count` processes at once; returns each container's stdout (ADD results).
    func parallel(_ command: String, containerIDs: [String], extra: [String: String] = [:]) async throws -> [String: (ExitStatus, String)] {
        let processes = try containerIDs.map { ($0, try launch(command, $0, extra: extra)) }
        var results: [String: (ExitStatus, String)] = [:]
        for (id, process) in processes {
            let status = try await waitOffPool(process)
            results[id] = (status, readText(outputPath(command, id)) ?? "")
        }
        return results
    }
}

struct ParsedResult: Decodable {
    struct IP: Decodable { var address: String; var gateway: String? }
    var ips: [IP]?
    var code: Int?
    var msg: String?

    static func parse(_ text: String) -> ParsedResult? {
        try? JSONDecoder().decode(ParsedResult.self, from: Data(text.utf8))
    }

    var addresses: [String] { (ips ?? []).map { String($0.address.split(separator: "/")[0]) } }
}

func writeText(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw PluginHarnessError(message: "cannot write \(path)") }
    _ = text.withCString { fputs($0, file) }
    fclose(file)
}

struct PluginHarnessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs blocking work on its own thread, so waiting for child processes never blocks the
/// Swift concurrency pool that the other (parallel) tests need.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

func waitOffPool(_ process: RunningProcess) async throws -> ExitStatus {
    try await offPool { try process.wait() }
}
