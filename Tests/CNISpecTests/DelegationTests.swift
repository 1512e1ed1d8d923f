import CNISpec
import Foundation
import NetPrimitives
import Testing

/// A plugin delegating to an "IPAM" plugin (the project's cni-test-plugin) found on CNI_PATH.
@Suite struct DelegationTests {
    struct IPAMSection: Codable, Sendable {
        var type: String
        var logFile: String?
    }

    struct Options: Codable, Sendable {
        var failAfterIPAM: Bool?
    }

    /// Delegates ADD to `ipam.type`; optionally fails afterwards, which must release the
    /// delegated allocation with DEL.
    struct DelegatingPlugin: CNIPlugin {
        func add(_ request: PluginRequest) async throws -> CNIResult {
            let configuration = try request.configuration(as: Options.self)
            let ipam = DelegatedPlugin(type: configuration.ipam?.type ?? "", request: request)
            return try await ipam.add { allocation in
                if configuration.options.failAfterIPAM == true { throw CNIError(CNIError.Code(120), "veth failed") }
                var result = allocation
                result.interfaces = [.init(name: request.interfaceName!.value, sandbox: request.networkNamespace)]
                return result
            }
        }

        func delete(_ request: PluginRequest) async throws {
            let configuration = try request.configuration()
            try await DelegatedPlugin(type: configuration.ipam?.type ?? "", request: request).delete()
        }
    }

    func configuration(log: String, fail: Bool) -> String {
        #"{"cniVersion":"1.0.0","name":"dnet","type":"delegating","failAfterIPAM":\#(fail),"ipam":{"type":"cni-test-plugin","logFile":"\#(log)","address":"10.7.0.9/24"}}"#
    }

    func commands(_ log: String) -> [String] {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? CNIJSON.decode(JSONValue.self, from: Array($0.utf8))["command"]?.stringValue }
    }

    @Test func addUsesTheDelegatedResult() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/ipam.jsonl"
        let run = await runPlugin(
            DelegatingPlugin(), command: "ADD", configuration: configuration(log: log, fail: false),
            extra: ["CNI_PATH": "/nonexistent:" + productsDirectory()])
        #expect(run.status == 0)
        let result = try AnyCNIResult(decoding: run.outputBytes).current()
        #expect(result.ips.first?.address.description == "10.7.0.9/24")
        #expect(result.interfaces.map(\.name) == ["eth0"])
        #expect(commands(log) == ["ADD"])
        let delete = await runPlugin(
            DelegatingPlugin(), command: "DEL", configuration: configuration(log: log, fail: false),
            extra: ["CNI_PATH": productsDirectory()])
        #expect(delete.status == 0)
        #expect(commands(log) == ["ADD", "DEL"])
    }

    @Test func failureAfterDelegatedAddRunsDelegatedDelete() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/ipam.jsonl"
        let run = await runPlugin(
            DelegatingPlugin(), command: "ADD", configuration: configuration(log: log, fail: true),
            extra: ["CNI_PATH": productsDirectory()])
        #expect(run.status == 1 && run.error?.code.rawValue == 120)
        #expect(commands(log) == ["ADD", "DEL"])
    }

    @Test func failedDelegatedAddIsFollowedByDelegatedDelete() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/ipam.jsonl"
        let failing = configuration(log: log, fail: false).replacingOccurrences(of: #""address""#, with: #""failAdd":true,"address""#)
        let run = await runPlugin(DelegatingPlugin(), command: "ADD", configuration: failing, extra: ["CNI_PATH": productsDirectory()])
        #expect(run.status == 1 && run.error?.code.rawValue == 112 && run.error?.message == "ADD failed on purpose")
        #expect(commands(log) == ["ADD", "DEL"])
    }

    @Test func delegatedErrorsComeBackWithTheirCode() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        // The delegated plugin gets a configuration version it refuses to CHECK: its error 1 is ours.
        let request = PluginRequest(
            command: .check, containerID: "c1", networkNamespace: "/x", interfaceName: "eth0",
            pluginPath: [productsDirectory()], configurationBytes: Array(#"{"cniVersion":"0.3.1","name":"n"}"#.utf8),
            version: .v0_3_1,
            environment: ["CNI_CONTAINERID": "c1", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0", "CNI_PATH": productsDirectory()])
        let error = try await #require(throws: CNIError.self) { try await DelegatedPlugin(type: "cni-test-plugin", request: request).check() }
        #expect(error.code == .incompatibleVersion)
        let missing = try await #require(throws: CNIError.self) { try await DelegatedPlugin(type: "nope", request: request).check() }
        #expect(missing.message.contains("failed to find plugin"))
    }
}
