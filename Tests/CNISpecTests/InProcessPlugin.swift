import CNISpec
import NetPrimitives
import Synchronization

/// A plugin run in-process through PluginMain: records every call it receives and answers
/// ADD with the previous result or a fixed one.
final class CallLog: Sendable {
    private let calls = Mutex<[PluginRequest]>([])
    func append(_ request: PluginRequest) { calls.withLock { $0.append(request) } }
    var all: [PluginRequest] { calls.withLock { $0 } }
}

struct InProcessPlugin: CNIPlugin {
    let log: CallLog
    var supportedVersions: [CNIVersion] = CNIVersion.all
    /// Thrown from every command when set.
    var failure: CNIError? = nil

    func add(_ request: PluginRequest) async throws -> CNIResult {
        log.append(request)
        if let failure { throw failure }
        if let previous = try request.previousResult() { return previous }
        return CNIResult(
            interfaces: [.init(name: request.interfaceName!.value, mac: try MACAddress(parsing: "0a:58:0a:01:00:05"), sandbox: request.networkNamespace)],
            ips: [.init(address: try IPNetwork(parsing: "10.1.0.5/16"), gateway: IPAddress("10.1.0.1"), interface: 0)],
            routes: [.init(destination: try IPNetwork(parsing: "0.0.0.0/0"))])
    }

    func delete(_ request: PluginRequest) async throws {
        log.append(request)
        if let failure { throw failure }
    }

    func check(_ request: PluginRequest) async throws {
        log.append(request)
        if let failure { throw failure }
    }

    func garbageCollect(_ request: PluginRequest) async throws {
        log.append(request)
        if let failure { throw failure }
    }

    func status(_ request: PluginRequest) async throws {
        log.append(request)
        if let failure { throw failure }
    }
}

/// One in-process run: exit status, stdout, stderr.
struct Run {
    var status: Int32
    var output: String
    var errors: String
    var outputBytes: [UInt8]

    var error: CNIError? { try? CNIJSON.decode(CNIError.self, from: outputBytes) }
}

func runPlugin(
    _ plugin: any CNIPlugin, command: String?, configuration: String, containerID: String = "c1",
    interfaceName: String = "eth0", extra: [String: String] = [:], dropping: Set<String> = []
) async -> Run {
    var environment = [
        "CNI_CONTAINERID": containerID, "CNI_NETNS": "/var/run/netns/blue", "CNI_IFNAME": interfaceName,
        "CNI_PATH": "/nonexistent", "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAME=web",
    ]
    if let command { environment["CNI_COMMAND"] = command }
    environment.merge(extra) { _, new in new }
    for name in dropping { environment[name] = nil }
    let stdout = OutputBuffer()
    let stderr = OutputBuffer()
    let status = await PluginMain(
        plugin, environment: environment, standardInput: .bytes(Array(configuration.utf8)),
        standardOutput: .collecting(into: stdout), standardError: .collecting(into: stderr)
    ).run()
    return Run(status: status, output: stdout.text, errors: stderr.text, outputBytes: stdout.bytes)
}

func configuration(version: CNIVersion, extra: String = "") -> String {
    #"{"cniVersion":"\#(version)","name":"testnet","type":"inprocess"\#(extra)}"#
}
