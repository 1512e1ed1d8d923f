import CNISpec
import Foundation
import NetPrimitives
import Testing

@testable import swift_flannel

/// subnet.env is IPAM's `SubnetEnvironment` (parsing tested in IPAMTests); the plugin's use of it.
@Suite struct SubnetEnvironmentTests {
    static func settings(subnetFile: String) throws -> FlannelSettings {
        try FlannelSettings(FlannelOptions(decoding: Array(#"{"name":"cbr0","type":"swift-flannel","subnetFile":"\#(subnetFile)"}"#.utf8)))
    }

    @Test func podNetworkFromTheFile() throws {
        let path = "/tmp/swcni-flannel-subnet-\(getpid()).env"
        defer { unlink(path) }
        do {
            _ = try PodNetwork(settings: Self.settings(subnetFile: path))
            Issue.record("expected an error")
        } catch let error as CNIError {
            #expect(error.code == .tryAgainLater)
        }
        try "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let network = try PodNetwork(settings: Self.settings(subnetFile: path))
        #expect(network.families.count == 1)
        #expect(network.families[0].subnet == IPNetwork("10.244.1.0/24") && network.families[0].gateway == IPNetwork("10.244.1.1/24"))
        #expect(network.families[0].clusterNetwork == IPNetwork("10.244.0.0/16") && network.mtu == 1450)
        // Dual-stack and IPv6-only: a family each, IPv4 first; the gateway is each subnet's first host.
        try "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let dual = try PodNetwork(settings: Self.settings(subnetFile: path))
        #expect(dual.families.map(\.subnet) == [IPNetwork("10.244.1.0/24"), IPNetwork("fd00:10:244:1::/64")])
        #expect(dual.families[1].gateway == IPNetwork("fd00:10:244:1::1/64") && dual.families[1].clusterNetwork == IPNetwork("fd00:10:244::/56"))
        try "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:2::1/64\nFLANNEL_MTU=1430\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let ipv6Only = try PodNetwork(settings: Self.settings(subnetFile: path))
        #expect(ipv6Only.families.map(\.subnet) == [IPNetwork("fd00:10:244:2::/64")] && ipv6Only.mtu == 1430)
        for bad in ["FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/31", "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=banana"] {
            try bad.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try PodNetwork(settings: Self.settings(subnetFile: path))
                Issue.record("accepted \(bad)")
            } catch let error as CNIError {
                #expect(error.code == .invalidNetworkConfig && error.message.contains("FLANNEL_SUBNET"), "\(error)")
            }
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
        #expect(settings.subnetFile == "/x/subnet.env")
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
