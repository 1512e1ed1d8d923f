import CNISpec
import Foundation
import Testing
@testable import swift_canal

/// The plugin's pure parts: its configuration and subnet.env.
@Suite("swift-canal configuration")
struct CanalConfigurationTests {
    /// subnet.env is IPAM's `SubnetEnvironment` (tested there); the plugin's use of it.
    @Test func loadsSubnetEnvironment() throws {
        let path = "/tmp/swcni-canal-subnet-\(getpid()).env"
        defer { unlink(path) }
        func load(_ text: String) throws -> (subnet: String, mtu: Int?) {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let loaded = try SwiftCanalPlugin.loadSubnet(path)
            return (loaded.subnets.map(\.description).joined(separator: ","), loaded.mtu)
        }
        do throws(CNIError) {
            _ = try SwiftCanalPlugin.loadSubnet(path)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.code == .tryAgainLater)
        }
        let loaded = try load("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n")
        #expect(loaded.subnet == "10.244.3.0/24" && loaded.mtu == 1450)
        let dual = try load("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n")
        #expect(dual.subnet == "10.244.3.0/24,fd00:10:244:3::/64")
        for bad in ["FLANNEL_NETWORK=10.244.0.0/16\n", "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/31\n",
                    "FLANNEL_NETWORK=fd00::/48\nFLANNEL_SUBNET=fd00:0:0:1::1/64\n"] {
            try bad.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: CNIError.self) { try SwiftCanalPlugin.loadSubnet(path) }
        }
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
