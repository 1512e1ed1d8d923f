import CNISpec
import Testing

/// A plugin run in-process through PluginMain, for each command and each version.
@Suite struct PluginMainTests {
    @Test(arguments: CNIVersion.all)
    func addPrintsOneResultInTheRequestedLayout(version: CNIVersion) async throws {
        let log = CallLog()
        let run = await runPlugin(InProcessPlugin(log: log), command: "ADD", configuration: configuration(version: version))
        #expect(run.status == 0)
        let result = try AnyCNIResult(decoding: run.outputBytes)
        #expect(result.version == version)
        #expect(result.version.resultFamily == version.resultFamily)
        #expect(try result.current().ips.first?.address.description == "10.1.0.5/16")
        // Exactly one JSON document on stdout.
        #expect(try CNIJSON.decode(JSONValue.self, from: run.outputBytes).objectValue != nil)
        let request = try #require(log.all.first)
        #expect(request.containerID == "c1" && request.interfaceName?.value == "eth0")
        #expect(request.networkNamespace == "/var/run/netns/blue" && request.version == version)
        #expect(request.arguments["K8S_POD_NAME"] == "web")
        #expect(request.pluginPath == ["/nonexistent"])
    }

    @Test(arguments: CNIVersion.all)
    func addPassesPrevResultThrough(version: CNIVersion) async throws {
        let previous = try String(decoding: Fixture.bytes("result-\(version).json"), as: UTF8.self)
        let run = await runPlugin(
            InProcessPlugin(log: CallLog()), command: "ADD",
            configuration: configuration(version: version, extra: #","prevResult":\#(previous)"#))
        #expect(run.status == 0)
        #expect(try sameJSON(run.outputBytes, try Fixture.json("result-\(version).json")))
    }

    @Test(arguments: CNIVersion.all)
    func deleteSucceedsSilently(version: CNIVersion) async throws {
        let log = CallLog()
        let run = await runPlugin(
            InProcessPlugin(log: log), command: "DEL", configuration: configuration(version: version),
            dropping: ["CNI_NETNS"])
        #expect(run.status == 0 && run.output.isEmpty)
        #expect(log.all.map(\.command) == [.delete])
    }

    @Test(arguments: CNIVersion.all)
    func checkNeeds040(version: CNIVersion) async throws {
        let log = CallLog()
        let run = await runPlugin(InProcessPlugin(log: log), command: "CHECK", configuration: configuration(version: version))
        if version >= .v0_4_0 {
            #expect(run.status == 0 && run.output.isEmpty && log.all.count == 1)
        } else {
            #expect(run.status == 1 && run.error?.code == .incompatibleVersion && log.all.isEmpty)
        }
    }

    @Test(arguments: CNIVersion.all, ["GC", "STATUS"])
    func garbageCollectionAndStatusNeed110(version: CNIVersion, command: String) async throws {
        let log = CallLog()
        let attachments = #","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]"#
        let run = await runPlugin(
            InProcessPlugin(log: log), command: command,
            configuration: configuration(version: version, extra: command == "GC" ? attachments : ""),
            dropping: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"])
        if version >= .v1_1_0 {
            #expect(run.status == 0 && run.output.isEmpty)
            let request = try #require(log.all.first)
            #expect(request.command.rawValue == command && request.containerID.isEmpty && request.interfaceName == nil)
            if command == "GC" {
                #expect(try request.configuration().validAttachments == [NetworkAttachment(containerID: "c1", interfaceName: "eth0")])
            }
        } else {
            #expect(run.status == 1 && run.error?.code == .incompatibleVersion && log.all.isEmpty)
            #expect(run.error?.message == "config version does not allow \(command)")
        }
    }

    @Test(arguments: CNIVersion.all)
    func versionAnswersSupportedVersions(version: CNIVersion) async throws {
        let plugin = InProcessPlugin(log: CallLog(), supportedVersions: [.v0_3_1, .v0_4_0, .v1_0_0, .v1_1_0])
        let run = await runPlugin(
            plugin, command: "VERSION", configuration: #"{"cniVersion":"\#(version)"}"#,
            dropping: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"])
        #expect(run.status == 0)
        let info = try CNIJSON.decode(VersionInfo.self, from: run.outputBytes)
        #expect(info.supportedVersions == ["0.3.1", "0.4.0", "1.0.0", "1.1.0"])
        #expect(info.cniVersion == (version >= .v0_3_1 ? version.description : "1.1.0"))
    }

    @Test func specVersionExampleShape() throws {
        let info = try CNIJSON.decode(VersionInfo.self, from: Fixture.bytes("spec-version-1.1.0.json"))
        #expect(info.supportedVersions == CNIVersion.all.map(\.description))
        #expect(try sameJSON(CNIJSON.encode(info), try Fixture.json("spec-version-1.1.0.json")))
    }

    @Test func pluginErrorsAreReportedWithTheirCodeAndVersion() async throws {
        let failure = CNIError(.tryAgainLater, "busy", details: "lock held")
        let run = await runPlugin(
            InProcessPlugin(log: CallLog(), failure: failure), command: "ADD", configuration: configuration(version: .v1_0_0))
        #expect(run.status == 1)
        #expect(run.error == CNIError(.tryAgainLater, "busy", details: "lock held", cniVersion: "1.0.0"))
    }

    @Test func statusReportsUnavailability() async throws {
        let run = await runPlugin(
            InProcessPlugin(log: CallLog(), failure: CNIError(.pluginNotAvailable, "daemon down")), command: "STATUS",
            configuration: configuration(version: .v1_1_0), dropping: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"])
        #expect(run.status == 1 && run.error?.code == .pluginNotAvailable)
    }

    @Test func otherErrorsBecomeCode999() async throws {
        struct Oops: Error {}
        struct Failing: CNIPlugin {
            func add(_ request: PluginRequest) async throws -> CNIResult { throw Oops() }
            func delete(_ request: PluginRequest) async throws {}
        }
        let run = await runPlugin(Failing(), command: "ADD", configuration: configuration(version: .v1_0_0))
        #expect(run.status == 1 && run.error?.code == .internal)
    }
}
