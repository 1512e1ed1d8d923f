import CNISpec
import Foundation
import Testing

/// The runtime side driving the project's own test plugins as processes (no root needed:
/// they touch no network state). GC and STATUS are covered here, since the reference plugins
/// stop at 1.0.0.
@Suite struct RuntimeTestPluginTests {
    struct Record: Decodable {
        var command: String
        var containerID: String
        var interfaceName: String?
        var version: String
        var runtimeConfig: [String: JSONValue]?
        var prevResult: JSONValue?
        var validAttachments: [NetworkAttachment]?
    }

    static func records(_ path: String) throws -> [Record] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try CNIJSON.decode(Record.self, from: Array($0.utf8)) }
    }

    func list(version: String, log: String, extra: [String: JSONValue] = [:], disableGC: Bool = false) -> NetworkConfigurationList {
        var first: [String: JSONValue] = ["type": "cni-test-plugin", "logFile": .string(log), "capabilities": ["portMappings": true]]
        first.merge(extra) { _, new in new }
        return NetworkConfigurationList(
            cniVersion: version, name: "testnet", disableGC: disableGC,
            plugins: [first, ["type": "cni-hello-plugin"], ["type": "cni-test-plugin", "logFile": .string(log)]])
    }

    let pod = RuntimeAttachment(
        containerID: "pod1", networkNamespace: "/var/run/netns/none", interfaceName: "eth0",
        arguments: CNIArguments([.init(key: "IgnoreUnknown", value: "1")]),
        capabilityArguments: ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]])

    @Test(arguments: ["0.4.0", "1.0.0", "1.1.0"])
    func addCheckDeleteInOrder(version: String) async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/calls.jsonl"
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let network = list(version: version, log: log)

        let result = try await runtime.add(network, pod)
        #expect(result.version.description == version)
        #expect(try result.current().ips.first?.address.description == "10.9.0.5/24")
        #expect(try runtime.cachedResult(network, pod) == result)
        try await runtime.check(network, pod)
        try await runtime.delete(network, pod)
        #expect(try runtime.cachedResult(network, pod) == nil)

        let calls = try Self.records(log)
        #expect(calls.map(\.command) == ["ADD", "ADD", "CHECK", "CHECK", "DEL", "DEL"])
        #expect(calls.allSatisfy { $0.version == version && $0.containerID == "pod1" && $0.interfaceName == "eth0" })
        // Only the first plugin declares portMappings; the last gets the chained prevResult.
        #expect(calls[0].runtimeConfig?["portMappings"] != nil && calls[0].prevResult == nil)
        #expect(calls[1].runtimeConfig == nil && calls[1].prevResult != nil)
        // DEL runs in reverse: the last plugin's DEL comes first.
        #expect(calls[4].runtimeConfig == nil && calls[5].runtimeConfig?["portMappings"] != nil)
        #expect(calls[2...].allSatisfy { $0.prevResult == (try? result.jsonValue()) })
    }

    @Test func garbageCollectionPassesValidAttachmentsAndPrunesTheCache() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/calls.jsonl"
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let network = list(version: "1.1.0", log: log)
        var other = pod
        other.containerID = "pod2"
        try await runtime.add(network, pod)
        try await runtime.add(network, other)

        let valid = [pod.attachment]
        try await runtime.garbageCollect(network, validAttachments: valid)
        let gc = try Self.records(log).filter { $0.command == "GC" }
        #expect(gc.count == 2 && gc.allSatisfy { $0.validAttachments == valid && $0.runtimeConfig == nil && $0.prevResult == nil })
        #expect(try runtime.cachedResult(network, pod) != nil)
        #expect(try runtime.cachedResult(network, other) == nil)

        // A failing plugin does not stop the others; all failures are reported.
        let failing = list(version: "1.1.0", log: log, extra: ["failGC": true])
        let error = try await #require(throws: CNIError.self) { try await runtime.garbageCollect(failing, validAttachments: []) }
        #expect(error.message.contains("1 plugin"))
        #expect(try Self.records(log).filter { $0.command == "GC" }.count == 4)

        let disabled = list(version: "1.1.0", log: log, disableGC: true)
        try await runtime.garbageCollect(disabled, validAttachments: [])
        #expect(try Self.records(log).filter { $0.command == "GC" }.count == 4)
    }

    @Test func statusSucceedsOrReportsThePluginCode() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/calls.jsonl"
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        try await runtime.status(list(version: "1.1.0", log: log))
        let error = try await #require(throws: CNIError.self) {
            try await runtime.status(list(version: "1.1.0", log: log, extra: ["statusCode": 51]))
        }
        #expect(error.code == .limitedConnectivity)
        #expect(try Self.records(log).map(\.command) == ["STATUS", "STATUS", "STATUS"])
    }

    @Test func commandsTheVersionLacksAreRefusedOrSkippedAsLibcniDoes() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let old = list(version: "1.0.0", log: directory + "/calls.jsonl")
        // Before 1.1.0, GC only deletes stale cached attachments (none here) and STATUS
        // counts the network as ready; no plugin is called for either.
        try await runtime.garbageCollect(old, validAttachments: [])
        try await runtime.status(old)
        #expect(try Self.records(directory + "/calls.jsonl").isEmpty)
        let older = list(version: "0.3.1", log: directory + "/calls.jsonl")
        try await runtime.add(older, pod)
        await #expect(throws: CNIError.self) { try await runtime.check(older, pod) }
        try await runtime.delete(older, pod)
    }

    @Test func versionAndMissingPlugin() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let info = try await runtime.version(ofPlugin: "cni-test-plugin")
        #expect(info.supportedVersions == CNIVersion.all.map(\.description))
        var bad = pod
        bad.containerID = "../etc"
        let invalid = try await #require(throws: CNIError.self) { try await runtime.add(list(version: "1.0.0", log: directory + "/x"), bad) }
        #expect(invalid.code == .invalidEnvironmentVariables)
        let missing = NetworkConfigurationList(cniVersion: "1.0.0", name: "n", plugins: [["type": "no-such-plugin"]])
        let error = try await #require(throws: CNIError.self) { try await runtime.add(missing, pod) }
        #expect(error.message.contains("failed to find plugin \"no-such-plugin\""))
    }
}
