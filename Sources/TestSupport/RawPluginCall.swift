import ChildProcess
import Foundation
import Namespaces
import NetPrimitives

extension NetworkNamespace {
    /// Runs a CNI plugin binary by hand inside this namespace, speaking the raw protocol
    /// (`CNI_*` environment, configuration on standard input): for requests a runtime would
    /// refuse to send (malformed JSON, unknown versions, a missing pod namespace).
    ///
    /// - Parameters:
    ///   - podNamespace: the pod's namespace (`CNI_NETNS`); nil names one that does not exist.
    ///   - pluginPath: `CNI_PATH`, where the plugin finds delegated plugins (IPAM).
    ///   - extraEnvironment: added to (and overriding) the `CNI_*` variables and `PATH`.
    public func runPluginRaw(
        _ executable: String, command: String, configuration: String, podNamespace: NetworkNamespace?,
        containerID: String = "raw-1", interfaceName: String = "eth0", pluginPath: [String],
        extraEnvironment: [String: String] = [:], timeoutMilliseconds: Int = 30_000
    ) throws -> ChildProcess.Output {
        var environment = [
            "CNI_COMMAND": command, "CNI_CONTAINERID": containerID, "CNI_IFNAME": interfaceName,
            "CNI_PATH": pluginPath.joined(separator: ":"),
            "CNI_NETNS": podNamespace?.path ?? "/var/run/netns/swcni-missing", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        environment.merge(extraEnvironment) { $1 }
        return try runProcess(
            executable, environment: environment, standardInput: Array(configuration.utf8), timeoutMilliseconds: timeoutMilliseconds)
    }
}

/// The reference host-local IPAM's files (also written by swift-ipam's host-local mode and the
/// plugins that allocate in process): `DATADIR/NETWORK/<address>`, one file per reservation.
public enum HostLocalFiles {
    /// The addresses reserved for `network` under `dataDirectory`, sorted as text.
    public static func reservedAddresses(dataDirectory: String, network: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/" + network)) ?? []
        return entries.filter { IPAddress($0) != nil }.sorted()
    }
}

/// A plugin's STATUS answer, as the tests of every plugin with an agent read it.
public struct PluginStatusAnswer: Sendable, CustomStringConvertible {
    /// nil when STATUS succeeded; the spec error's code otherwise (0 when the output was not one).
    public var code: Int?
    public var message: String
    public var output: String

    public var isReady: Bool { code == nil }
    public var description: String { code.map { "\($0): \(message)" } ?? "ready" }

    public init(_ result: ChildProcess.Output) {
        output = result.standardOutputText + result.standardErrorText
        guard !result.status.isSuccess else {
            code = nil
            message = ""
            return
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(result.standardOutput))) as? [String: Any]
        code = (object?["code"] as? Int) ?? 0
        message = (object?["msg"] as? String) ?? output
    }
}

extension NetworkNamespace {
    /// Runs `executable`'s STATUS (CNI 1.1.0) in this namespace with `configuration` (the
    /// plugin's object, `cniVersion` and `name` added when missing).
    /// `CNI_PATH` defaults to the plugin's own directory.
    public func pluginStatus(_ executable: String, configuration: [String: Any], pluginPath: [String]? = nil) throws -> PluginStatusAnswer {
        var object = configuration
        if object["cniVersion"] == nil { object["cniVersion"] = "1.1.0" }
        if object["name"] == nil { object["name"] = "status-test" }
        let data = try JSONSerialization.data(withJSONObject: object)
        return PluginStatusAnswer(
            try runPluginRaw(
                executable, command: "STATUS", configuration: String(decoding: data, as: UTF8.self), podNamespace: nil,
                pluginPath: pluginPath ?? [(executable as NSString).deletingLastPathComponent], timeoutMilliseconds: 10_000))
    }
}
