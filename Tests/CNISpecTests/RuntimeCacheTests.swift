import CNISpec
import Foundation
import Testing

/// The runtime side's cache in libcni's format, DEL after a restart from the cached
/// configuration, and GC for every version as libcni does it. The project's test plugin runs
/// as a process and records its calls (no root needed).
@Suite struct RuntimeCacheTests {
    typealias Record = RuntimeTestPluginTests.Record

    let pod = RuntimeAttachment(
        containerID: "pod1", networkNamespace: "/var/run/netns/pod1", interfaceName: "eth0",
        arguments: CNIArguments([.init(key: "IgnoreUnknown", value: "1"), .init(key: "K8S_POD_NAME", value: "web")]),
        capabilityArguments: ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]])

    static func conflist(version: String, log: String) -> String {
        #"{"cniVersion":"\#(version)","name":"testnet","plugins":[{"type":"cni-test-plugin","logFile":"\#(log)","capabilities":{"portMappings":true}}]}"#
    }

    @Test func theCacheFileIsLibcnisFormat() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let list = try NetworkConfigurationList(decoding: Array(Self.conflist(version: "1.0.0", log: directory + "/calls").utf8))
        try await runtime.add(list, pod)

        let file = directory + "/cache/results/testnet-pod1-eth0"
        let object = try #require(try CNIJSON.decode(JSONValue.self, from: Array(Data(contentsOf: URL(fileURLWithPath: file)))).objectValue)
        #expect(Set(object.keys) == ["kind", "containerId", "config", "ifName", "networkName", "netns", "cniArgs", "capabilityArgs", "result"])
        #expect(object["kind"] == "cniCacheV1" && object["containerId"] == "pod1" && object["ifName"] == "eth0")
        #expect(object["networkName"] == "testnet" && object["netns"] == "/var/run/netns/pod1")
        #expect(object["cniArgs"] == [["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web"]])
        #expect(object["capabilityArgs"] == ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]])
        // "config" is the list's JSON in base64, as Go encodes []byte.
        let encoded = try #require(object["config"]?.stringValue)
        let config = try #require(Data(base64Encoded: encoded))
        #expect(try NetworkConfigurationList(decoding: Array(config)) == list)
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: directory + "/cache/results")
        #expect((folder[.posixPermissions] as? NSNumber)?.intValue == 0o700)
    }

    @Test func anEntryWrittenByLibcniIsRead() throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        // Field for field what libcni's cacheAdd writes (Go's encoding/json of cachedInfo).
        let config = Data(Self.conflist(version: "1.0.0", log: "/dev/null").utf8).base64EncodedString()
        let written = #"{"kind":"cniCacheV1","containerId":"pod1","config":"\#(config)","ifName":"eth0","networkName":"testnet","netns":"/var/run/netns/pod1","cniArgs":[["IgnoreUnknown","1"]],"capabilityArgs":{"portMappings":[{"hostPort":8080}]},"result":{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.5/24"}]}}"#
        try FileManager.default.createDirectory(atPath: directory + "/cache/results", withIntermediateDirectories: true)
        try Data(written.utf8).write(to: URL(fileURLWithPath: directory + "/cache/results/testnet-pod1-eth0"))

        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let asked = RuntimeAttachment(containerID: "pod1", networkNamespace: "", interfaceName: "eth0")
        let cached = try #require(try runtime.cachedConfiguration(network: "testnet", asked))
        #expect(cached.list.name == "testnet" && cached.list.plugins.first?["type"] == "cni-test-plugin")
        #expect(cached.attachment.networkNamespace == "/var/run/netns/pod1")
        #expect(cached.attachment.arguments.description == "IgnoreUnknown=1")
        #expect(cached.attachment.capabilityArguments == ["portMappings": [["hostPort": 8080]]])
        #expect(try runtime.cachedResult(cached.list, asked)?.current().ips.first?.address.description == "10.9.0.5/24")
        #expect(runtime.cachedAttachments(containerID: "pod1").map(\.networkName) == ["testnet"])
        #expect(runtime.cachedAttachments(containerID: "pod").isEmpty)
    }

    @Test func deleteAfterARestartUsesTheCachedConfiguration() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/calls"
        try ConfigurationDirectoryTests.write(directory, "net.d/10-testnet.conflist", Self.conflist(version: "1.1.0", log: log))
        do {
            let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
            try await runtime.add(try NetworkConfigurationDirectory(path: directory + "/net.d").load(network: "testnet"), pod)
        }
        // The runtime restarts; meanwhile the configuration file is gone.
        try FileManager.default.removeItem(atPath: directory + "/net.d/10-testnet.conflist")
        let restarted = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let asked = RuntimeAttachment(containerID: "pod1", networkNamespace: "", interfaceName: "eth0")
        let cached = try #require(try restarted.cachedConfiguration(network: "testnet", asked))
        try await restarted.delete(cached.list, cached.attachment)

        let calls = try RuntimeTestPluginTests.records(log)
        #expect(calls.map(\.command) == ["ADD", "DEL"])
        #expect(calls[1].runtimeConfig == calls[0].runtimeConfig && calls[1].runtimeConfig?["portMappings"] != nil)
        #expect(calls[1].prevResult != nil)
        #expect(try restarted.cachedConfiguration(network: "testnet", asked) == nil)
        #expect(restarted.cachedAttachments().isEmpty)
    }

    @Test func aCorruptEntryNeverBlocksDelete() async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/calls"
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let list = try NetworkConfigurationList(decoding: Array(Self.conflist(version: "1.0.0", log: log).utf8))
        try await runtime.add(list, pod)
        let file = directory + "/cache/results/testnet-pod1-eth0"
        try Data("{\"kind\":".utf8).write(to: URL(fileURLWithPath: file))
        let error = try #require(throws: CNIError.self) { try runtime.cachedResult(list, pod) }
        #expect(error.message.contains(file))
        try await runtime.delete(list, pod)
        #expect(try RuntimeTestPluginTests.records(log).last.map { $0.command == "DEL" && $0.prevResult == nil } == true)
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test(arguments: ["0.4.0", "1.0.0", "1.1.0"])
    func garbageCollectionDeletesStaleAttachmentsForEveryVersion(version: String) async throws {
        let directory = try temporaryDirectory()
        defer { removeDirectory(directory) }
        let log = directory + "/calls"
        let runtime = CNIRuntime(pluginDirectories: [productsDirectory()], cacheDirectory: directory + "/cache")
        let list = try NetworkConfigurationList(decoding: Array(Self.conflist(version: version, log: log).utf8))
        var stale = pod
        stale.containerID = "pod2"
        stale.arguments = CNIArguments([.init(key: "IgnoreUnknown", value: "1"), .init(key: "K8S_POD_NAME", value: "gone")])
        try await runtime.add(list, pod)
        try await runtime.add(list, stale)

        try await runtime.garbageCollect(list, validAttachments: [pod.attachment])
        let calls = try RuntimeTestPluginTests.records(log).dropFirst(2)
        let deleted = calls.filter { $0.command == "DEL" }
        #expect(deleted.map(\.containerID) == ["pod2"])
        #expect(deleted.first?.runtimeConfig?["portMappings"] != nil && deleted.first?.prevResult != nil)
        let collected = calls.filter { $0.command == "GC" }
        #expect(collected.count == (version == "1.1.0" ? 1 : 0))
        #expect(collected.allSatisfy { $0.validAttachments == [pod.attachment] })
        #expect(runtime.cachedAttachments().map(\.containerID) == ["pod1"])
    }
}
