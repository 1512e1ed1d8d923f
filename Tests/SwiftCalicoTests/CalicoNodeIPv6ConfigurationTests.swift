import Foundation
import NetPrimitives
import Testing
@testable import swift_calico_node

/// Pure tests of swift-calico-node's IPv6 settings: calico/node's environment pools, the
/// router ID of an IPv6-only node, masquerade per family, `IP`/`IP6` values.
struct CalicoNodeIPv6ConfigurationTests {
    @Test func environmentAddsCalicosDefaultPools() throws {
        var configuration = try JSONDecoder().decode(
            NodeConfiguration.self, from: Data(#"{"bgp":{"asNumber":64512},"ipPools":[{"cidr":"10.244.0.0/16","natOutgoing":true}]}"#.utf8))
        try configuration.addEnvironmentPools([
            "CALICO_IPV4POOL_CIDR": "10.244.0.0/16", "CALICO_IPV6POOL_CIDR": "fd00:10:244::/104",
            "CALICO_IPV6POOL_BLOCK_SIZE": "122", "CALICO_IPV6POOL_NAT_OUTGOING": "true",
        ])
        let pools = try #require(configuration.ipPools)
        #expect(pools.map(\.cidr.description) == ["10.244.0.0/16", "fd00:10:244::/104"])
        #expect(pools[1].blockSize == 122 && pools[1].natOutgoing == true)
        #expect(throws: (any Error).self) { try configuration.addEnvironmentPools(["CALICO_IPV6POOL_CIDR": "10.0.0.0/8"]) }
    }

    @Test func natOutgoingPairsPoolsOfOneFamily() throws {
        let pools = [
            NodeConfiguration.IPPool(cidr: try IPNetwork(parsing: "10.244.0.0/16"), natOutgoing: true),
            NodeConfiguration.IPPool(cidr: try IPNetwork(parsing: "fd00:10:244::/104"), natOutgoing: true),
        ]
        let script = try #require(OutgoingNAT(pools: pools)).transaction.nftScript
        #expect(script.contains("ip6 saddr fd00:10:244::/104 ip6 daddr fd00:10:244::/104 return"), "\(script)")
        #expect(script.contains("ip6 saddr fd00:10:244::/104 masquerade"))
        #expect(!script.contains("ip saddr 10.244.0.0/16 ip6 daddr") && !script.contains("ip6 saddr fd00:10:244::/104 ip daddr"))
    }

    @Test func routerIDAndAddressChoices() throws {
        let v6Only = NodeAddresses(ipv4: nil, ipv6: try IPNetwork(parsing: "fd00:100::11/64"))
        let first = try NodeAddresses.routerID(configured: nil, addresses: v6Only, node: "node-1")
        #expect(first == (try NodeAddresses.routerID(configured: nil, addresses: v6Only, node: "node-1")))
        #expect(first != (try NodeAddresses.routerID(configured: nil, addresses: v6Only, node: "node-2")))
        #expect(try NodeAddresses.routerID(configured: "10.0.0.9", addresses: v6Only, node: "node-1") == IPv4Address("10.0.0.9"))
        #expect(v6Only.primary == (try IPAddress(parsing: "fd00:100::11")))
        #expect(try NodeAddresses.Choice("none", family: .v4, option: "IP") == .none)
        #expect(try NodeAddresses.Choice("autodetect", family: .v6, option: "IP6") == .autodetect)
        #expect(throws: (any Error).self) { try NodeAddresses.Choice("10.0.0.1", family: .v6, option: "IP6") }
        #expect(NodeConfiguration.ipv6Support([:], addresses: v6Only))
        #expect(!NodeConfiguration.ipv6Support(["FELIX_IPV6SUPPORT": "false"], addresses: v6Only))
    }
}
