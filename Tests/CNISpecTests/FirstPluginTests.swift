// The code of the "Write your first plugin" article
// (Sources/CNISpec/CNISpec.docc/WriteYourFirstPlugin.md), compiled and run here.
// Keep the two in sync.
import CNISpec
import Foundation
import NetPrimitives
import Testing

/// The plugin's own configuration keys, next to the protocol's.
struct FirstPluginOptions: Codable, Sendable {
    /// The MTU to report for the container's interface.
    var mtu: Int?
}

/// Gets addresses from its IPAM plugin and reports them on the container's interface.
struct FirstPlugin: CNIPlugin {
    var supportedVersions: [CNIVersion] { [.v0_4_0, .v1_0_0, .v1_1_0] }
    var about: String { "first-plugin: addresses from its IPAM plugin" }

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let configuration = try request.configuration(as: FirstPluginOptions.self)
        guard let ipam = configuration.ipam else {
            throw CNIError(.invalidNetworkConfig, "first-plugin needs an ipam section")
        }
        // If the closure throws, the IPAM plugin's DEL runs, so the address is not leaked.
        return try await DelegatedPlugin(type: ipam.type, request: request).add { allocation in
            var result = allocation
            result.interfaces = [
                .init(name: try request.requiredInterfaceName().value, mtu: configuration.options.mtu, sandbox: request.networkNamespace)
            ]
            for index in result.ips.indices { result.ips[index].interface = 0 }
            return result
        }
    }

    func delete(_ request: PluginRequest) async throws {
        let configuration = try request.configuration(as: FirstPluginOptions.self)
        if let ipam = configuration.ipam {
            try await DelegatedPlugin(type: ipam.type, request: request).delete()
        }
    }

    func check(_ request: PluginRequest) async throws {
        guard try request.previousResult() != nil else {
            throw CNIError(.invalidNetworkConfig, "CHECK needs prevResult")
        }
    }
}

@Suite struct FirstPluginTests {
    @Test func addAndDeleteInProcess() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("first-plugin-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let configuration = """
            {"cniVersion": "1.0.0", "name": "firstnet", "type": "first-plugin", "mtu": 1450,
             "ipam": {"type": "host-local", "subnet": "10.22.0.0/24", "dataDir": "\(dataDirectory)"}}
            """
        var environment = [
            "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "pod1", "CNI_NETNS": "/var/run/netns/pod1",
            "CNI_IFNAME": "eth0", "CNI_PATH": "/usr/lib/cni",
        ]
        let output = OutputBuffer()
        let status = await PluginMain(
            FirstPlugin(), environment: environment, standardInput: .bytes(Array(configuration.utf8)),
            standardOutput: .collecting(into: output)
        ).run()
        #expect(status == 0)
        let result = try AnyCNIResult(decoding: output.bytes).current()
        #expect(result.ips.first?.address.description == "10.22.0.2/24")
        #expect(result.interfaces.first?.mtu == 1450)

        environment["CNI_COMMAND"] = "DEL"
        let deleted = await PluginMain(
            FirstPlugin(), environment: environment, standardInput: .bytes(Array(configuration.utf8)),
            standardOutput: .collecting(into: OutputBuffer())
        ).run()
        #expect(deleted == 0)
    }

    @Test func helloPluginBinaryPassesPrevResultThrough() throws {
        // The landing page's plugin, run as a process.
        let previous = try String(decoding: Fixture.bytes("result-1.0.0.json"), as: UTF8.self)
        let output = try ChildProcessRun.run(
            productsDirectory() + "/cni-hello-plugin",
            environment: ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "pod1", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0", "CNI_PATH": "/x"],
            input: #"{"cniVersion":"1.0.0","name":"n","type":"cni-hello-plugin","prevResult":\#(previous)}"#)
        #expect(output.status == 0)
        #expect(try sameJSON(output.stdout, try Fixture.json("result-1.0.0.json")))
        #expect(output.stderr.contains("hello, pod1 on eth0"))
    }
}
