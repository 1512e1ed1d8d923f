import CNISpec
import Testing

/// The error code PluginMain reports for each class of bad input.
@Suite struct ErrorCodeTests {
    let plugin = InProcessPlugin(log: CallLog())

    @Test func specErrorExampleRoundTrips() throws {
        let error = try CNIJSON.decode(CNIError.self, from: Fixture.bytes("spec-error.json"))
        #expect(error == CNIError(.invalidNetworkConfig, "Invalid Configuration", details: "Network 192.168.0.0/31 too small to allocate from.", cniVersion: "1.1.0"))
        #expect(try sameJSON(CNIJSON.encode(error), try Fixture.json("spec-error.json")))
    }

    @Test func reservedCodes() {
        let codes: [CNIError.Code] = [
            .incompatibleVersion, .unsupportedField, .unknownContainer, .invalidEnvironmentVariables, .ioFailure,
            .decodingFailure, .invalidNetworkConfig, .tryAgainLater, .pluginNotAvailable, .limitedConnectivity,
        ]
        #expect(codes.map(\.rawValue) == [1, 2, 3, 4, 5, 6, 7, 11, 50, 51])
    }

    @Test func badJSONIsCode6() async throws {
        let run = await runPlugin(plugin, command: "ADD", configuration: #"{"cniVersion": "1.0.0", "name": "#)
        #expect(run.status == 1 && run.error?.code == .decodingFailure)
    }

    @Test func unknownVersionIsCode1() async throws {
        let run = await runPlugin(plugin, command: "ADD", configuration: configuration(version: CNIVersion(9, 9, 9)))
        #expect(run.status == 1 && run.error?.code == .incompatibleVersion)
        #expect(run.error?.details?.contains("config is \"9.9.9\"") == true)
    }

    @Test(arguments: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"])
    func missingVariableIsCode4NamingIt(variable: String) async throws {
        let run = await runPlugin(plugin, command: "ADD", configuration: configuration(version: .v1_0_0), dropping: [variable])
        #expect(run.status == 1 && run.error?.code == .invalidEnvironmentVariables)
        #expect(run.error?.message.contains(variable) == true)
    }

    @Test(arguments: ["-abc", "a/b", "a b", "_x", "ä"])
    func badContainerIDIsCode4(containerID: String) async throws {
        let run = await runPlugin(plugin, command: "ADD", configuration: configuration(version: .v1_0_0), containerID: containerID)
        #expect(run.status == 1 && run.error?.code == .invalidEnvironmentVariables)
    }

    @Test(arguments: ["a-very-long-interface-name", "eth/0", "eth:0", ".."])
    func badInterfaceNameIsCode4(name: String) async throws {
        let run = await runPlugin(plugin, command: "ADD", configuration: configuration(version: .v1_0_0), interfaceName: name)
        #expect(run.status == 1 && run.error?.code == .invalidEnvironmentVariables)
    }

    @Test func checkOn031IsCode1() async throws {
        let run = await runPlugin(plugin, command: "CHECK", configuration: configuration(version: .v0_3_1))
        #expect(run.status == 1 && run.error?.code == .incompatibleVersion)
    }

    @Test func garbageCollectionOn100IsCode1() async throws {
        let run = await runPlugin(plugin, command: "GC", configuration: configuration(version: .v1_0_0))
        #expect(run.status == 1 && run.error?.code == .incompatibleVersion)
    }

    @Test func missingNameIsCode7() async throws {
        let run = await runPlugin(plugin, command: "ADD", configuration: #"{"cniVersion":"1.0.0","type":"x"}"#)
        #expect(run.status == 1 && run.error?.code == .invalidNetworkConfig)
    }

    @Test func unknownCommandIsCode4() async throws {
        let run = await runPlugin(plugin, command: "FROB", configuration: configuration(version: .v1_0_0))
        #expect(run.status == 1 && run.error?.code == .invalidEnvironmentVariables)
    }

    @Test func badCNIArgsIsCode4() async throws {
        let run = await runPlugin(plugin, command: "ADD", configuration: configuration(version: .v1_0_0), extra: ["CNI_ARGS": "novalue"])
        #expect(run.status == 1 && run.error?.code == .invalidEnvironmentVariables)
    }

    /// Documentation/Architecture.md, "Contracts": usage and versions on stderr, error 4 on stdout, non-zero exit.
    @Test func noCommandPrintsUsageAndError4() async throws {
        let run = await runPlugin(plugin, command: nil, configuration: "")
        #expect(run.status != 0)
        #expect(run.error?.code == .invalidEnvironmentVariables && run.error?.message.contains("CNI_COMMAND") == true)
        #expect(run.errors.contains("CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"))
    }
}
