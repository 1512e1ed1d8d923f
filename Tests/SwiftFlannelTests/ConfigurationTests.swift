import CNISpec
import NetPrimitives
import Testing

@testable import swift_flannel

@Suite struct SubnetEnvironmentTests {
    @Test func parsesFlanneldOutput() throws {
        let text = """
            FLANNEL_NETWORK=10.244.0.0/16
            FLANNEL_SUBNET=10.244.1.1/24
            FLANNEL_MTU=1450
            FLANNEL_IPMASQ=true
            """
        let environment = try SubnetEnvironment(parsing: text)
        #expect(environment.network == IPNetwork("10.244.0.0/16"))
        #expect(environment.subnet == IPNetwork("10.244.1.1/24"))
        #expect(environment.mtu == 1450)
        #expect(environment.ipMasq)
    }

    @Test func ignoresCommentsUnknownKeysAndQuotes() throws {
        let text = "# written by flanneld\nFLANNEL_IPV6_NETWORK=fd00::/48\nFLANNEL_NETWORK=\"10.0.0.0/8\"\r\n  FLANNEL_SUBNET=10.3.4.1/24  \n"
        let environment = try SubnetEnvironment(parsing: text)
        #expect(environment.network == IPNetwork("10.0.0.0/8"))
        #expect(environment.subnet.network == IPNetwork("10.3.4.0/24"))
        #expect(environment.mtu == nil)
        #expect(!environment.ipMasq)
    }

    @Test(arguments: [
        "FLANNEL_SUBNET=10.244.1.1/24",
        "FLANNEL_NETWORK=10.244.0.0/16",
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=banana",
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.9.1.1/24",
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=nine",
        "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/31",
    ])
    func rejectsBadFiles(text: String) {
        #expect(throws: CNIError.self) { try SubnetEnvironment(parsing: text) }
    }

    @Test func missingFileIsTryAgainLater() {
        do {
            _ = try SubnetEnvironment.load(path: "/nonexistent/swcni/subnet.env")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .tryAgainLater)
        }
    }
}

@Suite struct FlannelSettingsTests {
    @Test func defaultsAreFlannels() throws {
        let configuration = try FlannelOptions(
            decoding: Array(#"{"cniVersion":"1.0.0","name":"cbr0","type":"swift-flannel"}"#.utf8))
        let settings = try FlannelSettings(configuration)
        #expect(settings.subnetFile == "/run/flannel/subnet.env")
        #expect(settings.dataDirectory == "/var/lib/cni/flannel")
        #expect(settings.bridge.value == "cni0")
        #expect(settings.isGateway)
        #expect(!settings.isDefaultGateway)
        #expect(!settings.hairpin)
        #expect(settings.mtu == nil)
        #expect(settings.networkName == "cbr0")
    }

    @Test func readsDelegateOptions() throws {
        let json = """
            {"cniVersion":"0.3.1","name":"podnet","type":"flannel","subnetFile":"/x/subnet.env","dataDir":"/x/data",
             "delegate":{"bridge":"br-pods","isDefaultGateway":true,"hairpinMode":true,"mtu":1400,"ipMasq":false},
             "somethingElse":42}
            """
        let configuration = try FlannelOptions(decoding: Array(json.utf8))
        let settings = try FlannelSettings(configuration)
        #expect(settings.subnetFile == "/x/subnet.env")
        #expect(settings.dataDirectory == "/x/data")
        #expect(settings.bridge.value == "br-pods")
        #expect(settings.isGateway && settings.isDefaultGateway && settings.hairpin)
        #expect(settings.mtu == 1400)
        let environment = SubnetEnvironment(network: IPNetwork("10.244.0.0/16"), subnet: IPNetwork("10.244.7.1/24"), mtu: 1450)
        let network = PodNetwork(environment, settings: settings)
        #expect(network.subnet == IPNetwork("10.244.7.0/24"))
        #expect(network.gateway == IPNetwork("10.244.7.1/24"))
        #expect(network.mtu == 1400)
    }

    /// kube-flannel's conflist with only `type` changed: the runtime injects name and version.
    @Test func kubeFlannelConflistNeedsOnlyTheTypeChanged() throws {
        let conflist = """
            {"name":"cbr0","cniVersion":"0.3.1","plugins":[
              {"type":"swift-flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},
              {"type":"portmap","capabilities":{"portMappings":true}}]}
            """
        let list = try NetworkConfigurationList(decoding: Array(conflist.utf8))
        var plugin = try #require(list.plugins.first)
        plugin["name"] = .string(list.name)
        plugin["cniVersion"] = "0.3.1"
        let configuration = try FlannelOptions(decoding: try CNIJSON.encode(JSONValue.object(plugin)))
        let settings = try FlannelSettings(configuration)
        #expect(settings.subnetFile == "/run/flannel/subnet.env")
        #expect(settings.dataDirectory == "/var/lib/cni/flannel")
        #expect(settings.bridge.value == "cni0" && settings.isGateway && settings.isDefaultGateway && settings.hairpin)
        #expect(settings.networkName == "cbr0")
    }

    @Test func rejectsBadBridgeNameAndMTU() throws {
        for json in [
            #"{"name":"n","delegate":{"bridge":"a-very-long-bridge-name"}}"#,
            #"{"name":"n","delegate":{"mtu":10}}"#,
            #"{"name":"../etc","delegate":{}}"#,
        ] {
            let configuration = try FlannelOptions(decoding: Array(json.utf8))
            #expect(throws: CNIError.self) { try FlannelSettings(configuration) }
        }
    }
}
