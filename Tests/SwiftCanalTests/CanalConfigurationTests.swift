import CNISpec
import Testing
@testable import swift_canal

/// The plugin's pure parts: its configuration and subnet.env.
@Suite("swift-canal configuration")
struct CanalConfigurationTests {
    @Test func parsesSubnetEnvironment() throws {
        let subnet = try NodeSubnet(parsing: "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n")
        #expect(subnet.subnet.network.description == "10.244.3.0/24")
        #expect(subnet.mtu == 1450)
    }

    @Test func rejectsUnusableSubnetEnvironment() {
        #expect(throws: CNIError.self) { try NodeSubnet(parsing: "FLANNEL_NETWORK=10.244.0.0/16\n") }
        #expect(throws: CNIError.self) { try NodeSubnet(parsing: "FLANNEL_SUBNET=10.244.3.1/31\n") }
        #expect(throws: CNIError.self) { try NodeSubnet(parsing: "FLANNEL_SUBNET=fd00::1/64\n") }
    }

    @Test func decodesOptionsWithDefaults() throws {
        let options = try CanalOptions(decoding: Array(#"{"cniVersion":"1.0.0","name":"canal","type":"swift-canal"}"#.utf8))
        #expect(options.subnetPath == "/run/flannel/subnet.env")
        #expect(options.dataDirectory == "/var/lib/cni/networks")
        #expect(options.datastore == nil)
        #expect(throws: CNIError.self) { try CanalOptions(decoding: Array(#"{"name":"a/b","type":"swift-canal"}"#.utf8)) }
        #expect(throws: CNIError.self) { try CanalOptions(decoding: Array(#"{"name":"canal","mtu":10}"#.utf8)) }
    }

    @Test func hostInterfaceIsStableAndCalicoStyle() throws {
        let name = SwiftCanalPlugin.hostInterfaceName(containerID: "c1", interface: "eth0")
        #expect(name.value.hasPrefix("cali") && name.value.count == 12)
        #expect(name == SwiftCanalPlugin.hostInterfaceName(containerID: "c1", interface: "eth0"))
        #expect(name != SwiftCanalPlugin.hostInterfaceName(containerID: "c2", interface: "eth0"))
    }
}
