import CNISpec
import NetPrimitives
import Testing

/// Network configurations and lists, on the specification's example configuration and the
/// request configurations of its appendix (Fixtures/spec-*.json, from SPEC.md).
@Suite struct ConfigurationTests {
    struct BridgeOptions: Codable, Sendable, Equatable {
        var bridge: String?
        var keyA: [String]?
    }

    @Test func specConflistLoadsAndPicksTheHighestVersion() throws {
        let list = try NetworkConfigurationList(decoding: Fixture.bytes("spec-conflist.json"))
        #expect(list.name == "dbnet")
        #expect(list.plugins.compactMap { $0["type"]?.stringValue } == ["bridge", "tuning", "portmap"])
        #expect(try list.selectVersion() == .v1_1_0)
        #expect(try list.selectVersion(maximum: .v1_0_0) == .v1_0_0)
        #expect(try list.selectVersion(maximum: .v0_3_1) == .v0_3_1)
        #expect(throws: CNIError.self) { try list.selectVersion(maximum: .v0_2_0) }
        #expect(try sameJSON(list.encoded(), try Fixture.json("spec-conflist.json")))
    }

    @Test func typedOptionsAndUnknownKeysSurviveARoundTrip() throws {
        let bytes = try Fixture.bytes("spec-add-bridge-request.json")
        let configuration = try NetworkConfiguration<BridgeOptions>(decoding: bytes)
        #expect(configuration.options == BridgeOptions(bridge: "cni0", keyA: ["some more", "plugin specific", "configuration"]))
        #expect(configuration.ipam?.type == "host-local")
        #expect(configuration.ipam?.additionalFields["subnet"] == "10.1.0.0/16")
        #expect(configuration.dns?.nameservers == ["10.1.0.1"])
        #expect(try sameJSON(configuration.encoded(), try Fixture.json("spec-add-bridge-request.json")))

        var changed = configuration
        changed.options.bridge = "cni1"
        let reencoded = try CNIJSON.decode(JSONValue.self, from: changed.encoded())
        #expect(reencoded["bridge"] == "cni1")  // typed options win over the carried copy
        #expect(reencoded["keyA"] == ["some more", "plugin specific", "configuration"])
    }

    @Test func everyProtocolKeyIsTyped() throws {
        let document: JSONValue = [
            "cniVersion": "1.1.0", "cniVersions": ["1.0.0", "1.1.0"], "name": "n", "type": "t",
            "disableCheck": true, "disableGC": false, "capabilities": ["portMappings": true],
            "runtimeConfig": ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]],
            "args": ["cni": ["ips": ["10.1.0.9"]]], "ipMasq": true, "ipam": ["type": "host-local"],
            "dns": ["nameservers": ["10.1.0.1"], "domain": "example", "search": ["a"], "options": ["ndots:2"]],
            "prevResult": ["cniVersion": "1.1.0", "ips": [["address": "10.1.0.5/16"]]],
            "cni.dev/valid-attachments": [["containerID": "c1", "ifname": "eth0"]],
            "custom": ["nested": [1, 2.5, nil]],
        ]
        let configuration = try NetworkConfiguration<NoOptions>(decoding: CNIJSON.encode(document))
        #expect(configuration.cniVersions == ["1.0.0", "1.1.0"])
        #expect(configuration.disableCheck == true && configuration.disableGC == false && configuration.ipMasq == true)
        #expect(configuration.capabilities == ["portMappings": true])
        #expect(configuration.runtimeConfig?["portMappings"]?.arrayValue?.count == 1)
        #expect(configuration.args?["cni"]?["ips"] == ["10.1.0.9"])
        #expect(configuration.dns?.options == ["ndots:2"])
        #expect(configuration.validAttachments == [NetworkAttachment(containerID: "c1", interfaceName: "eth0")])
        #expect(try configuration.previousResult()?.current().ips.first?.address.description == "10.1.0.5/16")
        #expect(configuration.additionalFields.keys.sorted() == ["custom"])
        #expect(try sameJSON(configuration.encoded(), document))
    }

    /// SPEC.md's appendix: the runtime derives each plugin's request from the conflist, with the
    /// `mac` and `portMappings` capability arguments, `prevResult`, and no `capabilities`.
    @Test func requestConfigurationsMatchTheSpecAppendix() throws {
        let list = try NetworkConfigurationList(decoding: Fixture.bytes("spec-conflist.json"))
        let attachment = RuntimeAttachment(
            containerID: "c1", networkNamespace: "/var/run/netns/blue", interfaceName: "eth0",
            capabilityArguments: [
                "mac": "00:11:22:33:44:66",
                "portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]],
            ])
        let bridgeResult = try Fixture.json("spec-add-bridge-result.json")
        let finalResult = try Fixture.json("spec-add-tuning-result.json")

        var bridge = try CNIJSON.decode(JSONValue.self, from: RequestConfiguration.derive(
            list.plugins[0], list: list, version: .v1_1_0, attachment: attachment))
        // The spec's example request leaves out the ipam routes its own configuration has.
        if case .object(var members) = bridge, case .object(var ipam)? = members["ipam"] {
            ipam["routes"] = nil
            members["ipam"] = .object(ipam)
            bridge = .object(members)
        }
        #expect(bridge == (try Fixture.json("spec-add-bridge-request.json")))

        let tuning = try RequestConfiguration.derive(
            list.plugins[1], list: list, version: .v1_1_0, attachment: attachment, previousResult: bridgeResult)
        #expect(try sameJSON(tuning, try Fixture.json("spec-add-tuning-request.json")))
        let portmap = try RequestConfiguration.derive(
            list.plugins[2], list: list, version: .v1_1_0, attachment: attachment, previousResult: finalResult)
        #expect(try sameJSON(portmap, try Fixture.json("spec-add-portmap-request.json")))
        #expect(try sameJSON(portmap, try Fixture.json("spec-check-portmap-request.json")))
        #expect(try sameJSON(portmap, try Fixture.json("spec-del-portmap-request.json")))
        let tuningCheck = try RequestConfiguration.derive(
            list.plugins[1], list: list, version: .v1_1_0, attachment: attachment, previousResult: finalResult)
        #expect(try sameJSON(tuningCheck, try Fixture.json("spec-check-tuning-request.json")))
        #expect(try sameJSON(tuningCheck, try Fixture.json("spec-del-tuning-request.json")))
    }

    @Test func runtimeConfigOnlyForDeclaredCapabilities() throws {
        let list = NetworkConfigurationList(cniVersion: "1.0.0", name: "n", plugins: [
            ["type": "a"], ["type": "b", "capabilities": ["portMappings": false]],
            ["type": "c", "capabilities": ["portMappings": true]],
        ])
        let attachment = RuntimeAttachment(
            containerID: "c", networkNamespace: "/x", interfaceName: "eth0",
            capabilityArguments: ["portMappings": [["hostPort": 1, "containerPort": 2]], "bandwidth": ["rate": 1]])
        let derived = try list.plugins.map {
            try CNIJSON.decode(JSONValue.self, from: RequestConfiguration.derive($0, list: list, version: .v1_0_0, attachment: attachment))
        }
        #expect(derived[0]["runtimeConfig"] == nil)
        #expect(derived[1]["runtimeConfig"] == nil)
        #expect(derived[2]["runtimeConfig"]?.objectValue?.keys.sorted() == ["portMappings"])
        #expect(derived.allSatisfy { $0["capabilities"] == nil && $0["name"] == "n" && $0["cniVersion"] == "1.0.0" })
    }

    @Test func singleConfigurationBecomesAList() throws {
        let list = try NetworkConfigurationList(decoding: Fixture.bytes("spec-add-bridge-request.json"))
        #expect(list.name == "dbnet" && list.plugins.count == 1 && list.cniVersion == "1.1.0")
    }

    @Test func invalidListsAreRejectedWithCode7() throws {
        for document in [#"{"name":"-bad","plugins":[{"type":"x"}]}"#, #"{"name":"n","plugins":[]}"#,
                         #"{"name":"n","plugins":[{"type":"../x"}]}"#, #"{"name":"n","plugins":[{}]}"#] {
            let error = try #require(throws: CNIError.self) { try NetworkConfigurationList(decoding: Array(document.utf8)) }
            #expect(error.code == .invalidNetworkConfig)
        }
    }

    @Test func containerIDRule() {
        #expect(ContainerID.isValid("a") && ContainerID.isValid("A1_b.c-d") && ContainerID.isValid("0abc"))
        #expect(!ContainerID.isValid("") && !ContainerID.isValid("-a") && !ContainerID.isValid("_a")
            && !ContainerID.isValid("a/b") && !ContainerID.isValid("a b") && !ContainerID.isValid("é"))
    }
}
