import AgentHTTP
import Foundation
import NetPrimitives
import Testing
@testable import swift_calico_node

/// Pure tests of the agent's configuration, NAT rules and status rendering (no root).
struct ConfigurationTests {
    @Test func decodesCalicoFieldNames() throws {
        let text = """
            {"bgp":{"asNumber":64512,"nodeToNodeMeshEnabled":true,"listenPort":179,"routerID":"10.0.0.1","holdTime":90,
                    "keepaliveTime":30,"gracefulRestartTime":120},
             "peers":[{"peerIP":"192.168.0.1","asNumber":65001,"password":"secret"}],
             "ipPools":[{"cidr":"10.244.0.0/16","blockSize":26,"natOutgoing":true}]}
            """
        let configuration = try JSONDecoder().decode(NodeConfiguration.self, from: Data(text.utf8))
        #expect(configuration.bgp.asNumber == 64512 && configuration.meshEnabled && configuration.holdTime == 90)
        #expect(configuration.gracefulRestartTime == 120 && configuration.connectRetryTime == 30)
        #expect(configuration.peers?.first?.password == "secret")
        #expect(configuration.ipPools?.first?.cidr == (try IPNetwork(parsing: "10.244.0.0/16")))
        let bad = Data(#"{"bgp":{"asNumber":"x"}}"#.utf8)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(NodeConfiguration.self, from: bad) }
    }

    @Test func natOutgoingMasqueradesTrafficLeavingThePools() throws {
        let pools = [
            NodeConfiguration.IPPool(cidr: try IPNetwork(parsing: "10.244.0.0/16"), blockSize: 26, natOutgoing: true),
            NodeConfiguration.IPPool(cidr: try IPNetwork(parsing: "10.96.0.0/16"), blockSize: nil, natOutgoing: false),
        ]
        let nat = try #require(OutgoingNAT(pools: pools))
        let script = nat.transaction.nftScript
        #expect(script.contains("swiftcni_nat"))
        #expect(script.contains("ip saddr 10.244.0.0/16 ip daddr 10.96.0.0/16 return"))
        #expect(script.contains("ip saddr 10.244.0.0/16 masquerade"))
        #expect(!script.contains("ip saddr 10.96.0.0/16 masquerade"))
        #expect(OutgoingNAT(pools: [pools[1]]) == nil)
    }

    @Test func statusRendersAsTableAndMetrics() {
        let report = StatusReport(
            node: "node-1", address: "192.168.100.11", asNumber: 64512,
            peers: [
                .init(address: "192.168.100.12", asNumber: 64512, type: "node-mesh", node: "node-2", state: "Established",
                      received: 1, accepted: 1, advertised: 1, stale: 0),
                .init(address: "192.168.100.1", asNumber: 65001, type: "global", node: nil, state: "Active",
                      received: 0, accepted: 0, advertised: 0, stale: 0),
            ],
            blocks: ["10.244.0.0/26"], installedRoutes: 1, failedRouteRequests: 0)
        #expect(report.table.contains("| 192.168.100.12 | node-to-node mesh | Established | 1"))
        #expect(report.table.contains("global"))
        let exposition = PrometheusExposition()
        let metrics = CalicoMetrics(factory: exposition.factory)
        metrics.update(from: report)
        var text = exposition.render()
        #expect(text.contains("swiftcni_calico_bgp_sessions{state=\"Established\"} 1"), "\(text)")
        #expect(text.contains("swiftcni_calico_bgp_prefixes{peer=\"192.168.100.12\",kind=\"accepted\"} 1"), "\(text)")
        #expect(text.contains("swiftcni_calico_blocks 1") && text.contains("swiftcni_calico_installed_routes 1"), "\(text)")
        // A peer that goes leaves the exposition; route failures count up.
        var later = report
        later.peers.removeFirst()
        later.failedRouteRequests = 3
        metrics.update(from: later)
        text = exposition.render()
        #expect(!text.contains("192.168.100.12"), "\(text)")
        #expect(text.contains("swiftcni_calico_bgp_sessions{state=\"Established\"} 0"), "\(text)")
        #expect(text.contains("swiftcni_calico_route_request_failures_total 3"), "\(text)")
    }
}
