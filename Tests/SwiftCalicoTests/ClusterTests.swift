import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// swift-calico end to end: three nodes, routes learned only over BGP, no tunnel device.
@Suite(.serialized) struct ClusterTests {
    static func block(of address: String) throws -> String {
        try IPNetwork(address: try IPAddress(parsing: address), prefixLength: 26).network.description
    }

    @Test(.privileged) func podToPodOverBGPAndAgentLifecycle() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 7) { namespaces in
            // Graceful restart 10 s: long enough that a loaded machine (timers firing seconds
            // late in a full parallel run) still checks inside the window; the checks that
            // need the window say so and are skipped when the clock shows it already passed.
            let restartTime = Duration.seconds(10)
            let cluster = try CalicoCluster(
                fabric: namespaces[0], nodes: Array(namespaces[1...3]), directory: directory, gracefulRestartTime: 10)
            defer { cluster.stopAll() }
            let pods = Array(namespaces[4...6])
            var addresses: [String] = []
            for index in 0..<3 { addresses.append(try await cluster.addPod(pods[index], node: index, id: "pod-\(index + 1)")) }
            let blocks = try addresses.map(Self.block(of:))
            #expect(Set(blocks).count == 3)
            for index in 0..<3 { try cluster.startAgent(index) }

            // Every node learns the two other blocks over BGP, next hop the owning node.
            for index in 0..<3 {
                let learned = try await eventually(within: 15) { try cluster.bgpRoutes(index).count == 2 }
                let routes = try cluster.bgpRoutes(index)
                #expect(learned, "node \(index + 1) routes: \(routes)\n\(cluster.agentLog(index))")
                for other in 0..<3 where other != index {
                    #expect(try cluster.bgpRoutes(index)[blocks[other]] == cluster.nodeAddress(other))
                }
                #expect(try cluster.nodes[index].ip(["route", "show", "proto", "93"]).contains("blackhole \(blocks[index])"))
                let links = try cluster.nodes[index].ip(["-d", "-o", "link", "show"])
                #expect(!links.contains("vxlan") && !links.contains("ipip") && !links.contains("tun"))
            }
            for source in 0..<3 {
                for target in 0..<3 where target != source {
                    #expect(try pods[source].ping(addresses[target]), "pod \(source + 1) -> pod \(target + 1)")
                }
            }

            // status and metrics.
            let status = try cluster.nodes[0].runProcess(
                TestDirectories.products + "/swift-calico-node", arguments: ["status", "--json", "--state-dir", directory + "/state-1"],
                timeoutMilliseconds: 5_000)
            let statusText = String(decoding: status.standardOutput, as: UTF8.self)
            #expect(statusText.components(separatedBy: "\"Established\"").count == 3, "\(statusText)")
            let table = try cluster.nodes[1].runProcess(
                TestDirectories.products + "/swift-calico-node", arguments: ["status", "--state-dir", directory + "/state-2"],
                timeoutMilliseconds: 5_000)
            let tableText = String(decoding: table.standardOutput, as: UTF8.self)
            #expect(tableText.contains("node-to-node mesh") && tableText.contains(blocks[1]), "\(tableText)")
            let metrics = try cluster.nodes[0].runProcess(
                "/usr/bin/curl", arguments: ["-s", "http://127.0.0.1:9099/metrics"], timeoutMilliseconds: 5_000)
            #expect(String(decoding: metrics.standardOutput, as: UTF8.self).contains("swiftcni_calico_bgp_sessions{state=\"Established\"} 2"))
            #expect(try cluster.nodes[0].ip(["-o", "link", "show"]).contains("eth0"))
            let nat = try cluster.nodes[0].runProcess("/usr/sbin/nft", arguments: ["list", "table", "inet", "swiftcni_nat"])
            #expect(String(decoding: nat.standardOutput, as: UTF8.self).contains("masquerade"))

            // SIGKILL node 2's agent and restart it within the graceful-restart time: the others
            // keep its block and traffic keeps flowing.
            var killed = ContinuousClock.now
            cluster.stopAgent(1, signal: SIGKILL)
            try await Task.sleep(for: .milliseconds(1_000))
            if ContinuousClock.now - killed < restartTime - .seconds(2) {
                #expect(try cluster.bgpRoutes(0)[blocks[1]] == cluster.nodeAddress(1))
                #expect(try pods[0].ping(addresses[1]))
            }
            try cluster.startAgent(1)
            for _ in 0..<6 {
                try await Task.sleep(for: .milliseconds(1_000))
                #expect(try cluster.bgpRoutes(0)[blocks[1]] == cluster.nodeAddress(1))
                #expect(try pods[0].ping(addresses[1]))
            }
            #expect(try await eventually(within: 5) { try cluster.bgpRoutes(1).count == 2 })

            // Releasing node 1's only block (its last pod deleted) withdraws it and its blackhole.
            let harness = cluster.harnesses[0]
            try await harness.runtime.delete(harness.conflist(blocks: true), harness.attachment("pod-1", pod: pods[0]))
            #expect(try await eventually(within: 3) {
                try cluster.bgpRoutes(1)[blocks[0]] == nil && cluster.bgpRoutes(2)[blocks[0]] == nil
            })
            #expect(try cluster.nodes[0].ip(["route", "show", "proto", "93"]).isEmpty)

            // Graceful stop (Cease): node 3's block disappears from the others at once.
            cluster.stopAgent(2, signal: SIGTERM)
            #expect(try await eventually(within: 1.5) {
                try cluster.bgpRoutes(0)[blocks[2]] == nil && cluster.bgpRoutes(1)[blocks[2]] == nil
            })

            // SIGKILL without restart: stale for the graceful-restart time (10 s), then swept.
            killed = ContinuousClock.now
            cluster.stopAgent(1, signal: SIGKILL)
            try await Task.sleep(for: .milliseconds(1_500))
            if ContinuousClock.now - killed < restartTime - .seconds(2) {
                #expect(try cluster.bgpRoutes(0)[blocks[1]] == cluster.nodeAddress(1), "stale route kept during graceful restart")
            }
            #expect(try await eventually(within: 15) { try cluster.bgpRoutes(0)[blocks[1]] == nil })
        }
    }
}
