// `cni-test-plugin`: the project's own test plugin for the CNISpec runtime tests. It supports
// every version 0.1.0 … 1.1.0 (the reference plugins stop at 1.0.0, so GC and STATUS are
// tested with it), records each call as one JSON line in the file named by the `logFile` key,
// and behaves as its configuration says (or its `ipam` section, when it runs as IPAM):
//   "address": "10.9.0.5/24"  ADD result address when there is no prevResult
//   "statusCode": 50          STATUS fails with this code
//   "failGC": true            GC fails with code 111 (after recording)
//   "failAdd": true           ADD fails with code 112 (after recording)
import CNISpec
import NetPrimitives

#if canImport(Glibc)
import Glibc
#endif

struct RecordingOptions: Codable, Sendable {
    var logFile: String?
    var address: String?
    var statusCode: UInt?
    var failGC: Bool?
    var failAdd: Bool?
}

struct CallRecord: Codable, Sendable {
    var command: String
    var containerID: String
    var interfaceName: String?
    var version: String
    var runtimeConfig: [String: JSONValue]?
    var prevResult: JSONValue?
    var validAttachments: [NetworkAttachment]?
}

struct RecordingPlugin: CNIPlugin {
    var about: String { "cni-test-plugin: records calls for the swift-cni tests" }

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let configuration = try record(request)
        if configuration.options.failAdd == true { throw CNIError(CNIError.Code(112), "ADD failed on purpose") }
        if let previous = try request.previousResult() { return previous }
        let address = try IPNetwork(parsing: configuration.options.address ?? "10.9.0.5/24")
        return CNIResult(
            cniVersion: request.version,
            interfaces: [.init(name: request.interfaceName?.value ?? "eth0", sandbox: request.networkNamespace)],
            ips: [.init(address: address, interface: 0)],
            routes: [.init(destination: try IPNetwork(parsing: "0.0.0.0/0"))])
    }

    func delete(_ request: PluginRequest) async throws { _ = try record(request) }
    func check(_ request: PluginRequest) async throws { _ = try record(request) }

    func garbageCollect(_ request: PluginRequest) async throws {
        let configuration = try record(request)
        if configuration.options.failGC == true { throw CNIError(CNIError.Code(111), "GC failed on purpose") }
    }

    func status(_ request: PluginRequest) async throws {
        let configuration = try record(request)
        if let code = configuration.options.statusCode { throw CNIError(CNIError.Code(code), "not available") }
    }

    private func record(_ request: PluginRequest) throws -> NetworkConfiguration<RecordingOptions> {
        var configuration = try request.configuration(as: RecordingOptions.self)
        // Run as a delegated (IPAM) plugin, it reads its options from the `ipam` section.
        if let ipam = configuration.ipam, ipam.type == "cni-test-plugin" {
            configuration.options = try ipam.decode(as: RecordingOptions.self)
        }
        guard let path = configuration.options.logFile else { return configuration }
        let entry = CallRecord(
            command: request.command.rawValue, containerID: request.containerID,
            interfaceName: request.interfaceName?.value, version: request.version.description,
            runtimeConfig: configuration.runtimeConfig, prevResult: configuration.prevResult,
            validAttachments: configuration.validAttachments)
        let line = try CNIJSON.encode(entry) + [UInt8(ascii: "\n")]
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw CNIError(.ioFailure, "cannot open \(path)") }
        defer { close(fd) }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return configuration
    }
}

@main
enum Main {
    static func main() async {
        exit(await PluginMain(RecordingPlugin()).run())
    }
}
