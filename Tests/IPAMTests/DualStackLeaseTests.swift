import CNISpec
import Datastore
import Foundation
import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

/// flannel's dual-stack and IPv6-only network: configuration keys, lease keys, subnet
/// planning and subnet.env, in flannel's names.
@Suite struct DualStackLeaseTests {
    @Test func subnetEnvironmentWritesAndReadsBothFamilies() throws {
        let dual = SubnetEnvironment(
            network: "10.244.0.0/16", subnet: "10.244.1.0/24", ipv6Network: "fd00:10:244::/56", ipv6Subnet: "fd00:10:244:1::/64", mtu: 1430)
        let text = """
            FLANNEL_NETWORK=10.244.0.0/16
            FLANNEL_SUBNET=10.244.1.1/24
            FLANNEL_IPV6_NETWORK=fd00:10:244::/56
            FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64
            FLANNEL_MTU=1430
            FLANNEL_IPMASQ=false

            """
        #expect(dual.text == text)
        let parsed = try SubnetEnvironment(parsing: text)
        #expect(parsed.ipv6Network == IPNetwork("fd00:10:244::/56") && parsed.ipv6Subnet?.network == IPNetwork("fd00:10:244:1::/64"))
        #expect(parsed.podSubnets == [IPNetwork("10.244.1.0/24"), IPNetwork("fd00:10:244:1::/64")])

        let ipv6Only = SubnetEnvironment(network: nil, subnet: nil, ipv6Network: "fd00:10:244::/56", ipv6Subnet: "fd00:10:244:2::/64", mtu: 1430)
        #expect(!ipv6Only.text.contains("FLANNEL_NETWORK=") && ipv6Only.text.hasPrefix("FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"))
        let reparsed = try SubnetEnvironment(parsing: ipv6Only.text)
        #expect(reparsed.network == nil && reparsed.subnet == nil && reparsed.podSubnets == [IPNetwork("fd00:10:244:2::/64")])
        #expect(throws: IPAMError.self) { try reparsed.ipv4PodSubnet() }
    }

    @Test func subnetEnvironmentRejectsAWrongIPv6Pair() {
        for bad in [
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:99::1/64\n",
            "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=10.0.0.0/8\nFLANNEL_IPV6_SUBNET=10.0.1.1/24\n",
            "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=banana\n",
        ] {
            #expect(throws: IPAMError.self, "\(bad)") { try SubnetEnvironment(parsing: bad) }
        }
    }

    @Test func configurationDecodesFlannelsIPv6Keys() throws {
        let dual = try JSONDecoder().decode(
            SubnetLeaseConfiguration.self,
            from: Data(#"{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"fd00:10:244::/56","IPv6SubnetLen":64,"Backend":{"Type":"vxlan"}}"#.utf8))
        #expect(dual.ipv4Enabled && dual.ipv6Enabled && dual.ipv6SubnetLength == 64)
        try dual.validateFamilies()
        let candidates = try dual.candidateIPv6Subnets()
        #expect(candidates.count == 255 && candidates.first == IPNetwork("fd00:10:244:1::/64"))

        // IPv6-only: Network may be left out.
        let ipv6Only = try JSONDecoder().decode(
            SubnetLeaseConfiguration.self, from: Data(#"{"EnableIPv4":false,"EnableIPv6":true,"IPv6Network":"fd00:10:244::/56"}"#.utf8))
        #expect(!ipv6Only.ipv4Enabled && ipv6Only.ipv6SubnetLength == 64)
        try ipv6Only.validateFamilies()

        // Defaults: IPv4 only; Network required while IPv4 is enabled.
        let plain = try JSONDecoder().decode(SubnetLeaseConfiguration.self, from: Data(#"{"Network":"10.244.0.0/16"}"#.utf8))
        let none = try plain.candidateIPv6Subnets()
        #expect(plain.ipv4Enabled && !plain.ipv6Enabled && none.isEmpty)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(SubnetLeaseConfiguration.self, from: Data(#"{"EnableIPv6":true}"#.utf8)) }
        for bad in [
            #"{"Network":"10.244.0.0/16","EnableIPv6":true}"#, #"{"Network":"10.244.0.0/16","EnableIPv6":true,"IPv6Network":"10.0.0.0/8"}"#,
            #"{"EnableIPv4":false}"#, #"{"Network":"fd00::/48"}"#,
        ] {
            let configuration = try JSONDecoder().decode(SubnetLeaseConfiguration.self, from: Data(bad.utf8))
            #expect(throws: IPAMError.self, "\(bad)") { try configuration.validateFamilies() }
        }
    }

    @Test func leaseKeysNameBothSubnetsAsFlannelDoes() throws {
        #expect(SubnetLease.keyComponent(subnet: "10.244.1.0/24", ipv6Subnet: "fd00:10:244:1::/64") == "10.244.1.0-24&fd00:10:244:1::-64")
        #expect(SubnetLease.keyComponent(subnet: "10.244.1.0/24", ipv6Subnet: nil) == "10.244.1.0-24")
        #expect(SubnetLease.keyComponent(subnet: "0.0.0.0/0", ipv6Subnet: "fd00:10:244:2::/64") == "0.0.0.0-0&fd00:10:244:2::-64")
        let parsed = try #require(SubnetLease.subnets(ofKeyComponent: "10.244.1.0-24&fd00:10:244:1::-64"))
        #expect(parsed.0 == IPNetwork("10.244.1.0/24") && parsed.1 == IPNetwork("fd00:10:244:1::/64"))
        for bad in ["10.244.1.0-24&", "fd00::-64", "10.244.1.0-24&10.0.0.0-8", "banana", "10.244.1.0-24&fd00::-64&x"] {
            #expect(SubnetLease.subnets(ofKeyComponent: bad) == nil, "\(bad)")
        }
        #expect(SubnetLeaseManager.subnet(ofKey: "/coreos.com/network/subnets/0.0.0.0-0&fd00:10:244:2::-64") == IPNetwork("fd00:10:244:2::/64"))
    }

    @Test func dualStackLeasesInTheStore() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swcni-dual-lease-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try FileDatastore(directory: directory)
        let manager = SubnetLeaseManager(store: store)
        var configuration = SubnetLeaseConfiguration(network: "10.244.0.0/16")
        configuration.EnableIPv6 = true
        configuration.IPv6Network = "fd00:10:244::/56"
        let first = try await manager.acquire(
            node: "node-0", attributes: SubnetLeaseAttributes(publicIP: "192.168.77.10"), configuration: configuration)
        let second = try await manager.acquire(
            node: "node-1", attributes: SubnetLeaseAttributes(publicIP: "192.168.77.11"), configuration: configuration)
        #expect(first.subnet == IPNetwork("10.244.1.0/24") && first.ipv6Subnet == IPNetwork("fd00:10:244:1::/64"))
        #expect(second.subnet == IPNetwork("10.244.2.0/24") && second.ipv6Subnet == IPNetwork("fd00:10:244:2::/64"))
        let keys = try await store.list(prefix: KeyLayout.flannelSubnets()).items.map(\.key).sorted()
        #expect(keys == ["/coreos.com/network/subnets/10.244.1.0-24&fd00:10:244:1::-64", "/coreos.com/network/subnets/10.244.2.0-24&fd00:10:244:2::-64"])
        // The same node gets its lease back; a released lease frees both subnets.
        let again = try await manager.acquire(
            node: "node-0", attributes: SubnetLeaseAttributes(publicIP: "192.168.77.10"), configuration: configuration)
        #expect(again.subnet == first.subnet && again.ipv6Subnet == first.ipv6Subnet)
        try await manager.release(again)
        #expect(try await manager.leases().map(\.primarySubnet) == [IPNetwork("10.244.2.0/24")])

        var ipv6Only = configuration
        ipv6Only.EnableIPv4 = false
        let other = SubnetLeaseManager(store: store, prefix: "/v6only")
        let lease = try await other.acquire(
            node: "node-0", attributes: SubnetLeaseAttributes(publicIP: "192.168.77.10"), configuration: ipv6Only)
        #expect(!lease.hasIPv4 && lease.primarySubnet == IPNetwork("fd00:10:244:1::/64"))
        let next = try await other.acquire(node: "node-1", attributes: SubnetLeaseAttributes(publicIP: "192.168.77.11"), configuration: ipv6Only)
        #expect(next.primarySubnet == IPNetwork("fd00:10:244:2::/64"))
        await store.close()
    }
}
