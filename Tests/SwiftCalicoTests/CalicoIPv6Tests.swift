import CNISpec
import Datastore
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// swift-calico and swift-calico-node with IPv6: dual-stack and IPv6-only pods on two nodes,
/// routes learned only over BGP (IPv6 blocks with the owner's IPv6 next hop), the link-local
/// gateway fe80::ecee:eeff:feee:eeee, DEL and a failed ADD for both families.
@Suite(.serialized) struct CalicoIPv6Tests {
    static let gateway6 = "fe80::ecee:eeff:feee:eeee"

    @Test(.privileged) func dualStackPodsReachEachOtherOverBGP() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico6-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 6) { namespaces in
            let cluster = try CalicoCluster(family: .dual, fabric: namespaces[0], nodes: Array(namespaces[1...2]), directory: directory)
            defer { cluster.stopAll() }
            let pods = Array(namespaces[3...4])
            var addresses: [[IPAddress]] = []
            for index in 0..<2 {
                let result = try await cluster.addPodResult(pods[index], node: index, id: "pod-\(index + 1)")
                let ips = result.ips.map(\.address)
                #expect(ips.map(\.prefixLength).sorted() == [32, 128], "\(ips)")
                #expect(result.routes.map(\.destination.description).sorted() == ["0.0.0.0/0", "::/0"])
                #expect(result.routes.first { $0.destination.family == .v6 }?.gateway?.description == Self.gateway6)
                addresses.append(ips.map(\.address).sorted { $0.family == .v4 && $1.family == .v6 })
            }
            // The pod's IPv6 default route goes via the host end's link-local address; the
            // node routes the /128 to the host end.
            #expect(try pods[0].ip(["-6", "route", "show", "default"]).contains("via \(Self.gateway6) dev eth0"))
            #expect(try cluster.nodes[0].ip(["-6", "route", "show", "proto", "92"]).contains("\(addresses[0][1]) dev cali"))
            #expect(try cluster.nodes[0].ip(["-6", "addr", "show"]).contains(Self.gateway6))
            for index in 0..<2 { try cluster.startAgent(index) }

            let blocks = try addresses.map { try $0.map(CalicoCluster.block(of:)) }
            for index in 0..<2 {
                let other = 1 - index
                let learned = try await eventually(within: 30) {
                    try cluster.bgpRoutes(index, ipv6: false)[blocks[other][0]] == cluster.nodeAddress(other)
                        && cluster.bgpRoutes(index, ipv6: true)[blocks[other][1]] == cluster.nodeIPv6(other)
                }
                #expect(learned, "node \(index + 1): \((try? cluster.bgpRoutes(index, ipv6: true)) ?? [:])\n\(cluster.agentLog(index))")
                #expect(try cluster.nodes[index].ip(["-6", "route", "show", "proto", "93"]).contains("blackhole \(blocks[index][1])"))
            }
            for (source, target) in [(0, 1), (1, 0)] {
                for address in addresses[target] {
                    let reached = try await eventually(within: 10) { try pods[source].ping(address, waitSeconds: 1) }
                    #expect(reached, "pod \(source + 1) -> \(address)\n\(cluster.agentLog(0))\n\(cluster.agentLog(1))")
                }
            }
            // The node record carries the IPv6 address (Calico's ipv6Address); IPv6 masquerade.
            let store = try StoreLocation.open("file:" + cluster.harnesses[0].storeDirectory)
            let record = try #require(try await store.get(KeyLayout.node("node-1")))
            #expect(record.string.contains("\"ipv6Address\":\"fd00:100::11/64\""), "\(record.string)")
            let nat = try cluster.nodes[0].runProcess("/usr/sbin/nft", arguments: ["list", "table", "inet", "swiftcni_nat"])
            let natText = String(decoding: nat.standardOutput, as: UTF8.self)
            #expect(natText.contains("ip6 saddr \(CalicoCluster.pool6) masquerade") && natText.contains("ip saddr 10.244.0.0/16 masquerade"), "\(natText)")

            // DEL removes both families; the emptied blocks are withdrawn from the other node.
            try await cluster.deletePod(pods[0], node: 0, id: "pod-1")
            #expect(try cluster.nodes[0].ip(["-6", "route", "show", "proto", "92"]).isEmpty)
            #expect(try cluster.nodes[0].ip(["route", "show", "proto", "92"]).isEmpty)
            #expect(try await eventually(within: 15) {
                try cluster.bgpRoutes(1, ipv6: true)[blocks[0][1]] == nil && cluster.bgpRoutes(1, ipv6: false)[blocks[0][0]] == nil
            })
        }
    }

    @Test(.privileged) func ipv6OnlyPodsReachEachOtherOverBGP() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico6-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 5) { namespaces in
            let cluster = try CalicoCluster(family: .ipv6, fabric: namespaces[0], nodes: Array(namespaces[1...2]), directory: directory)
            defer { cluster.stopAll() }
            let pods = Array(namespaces[3...4])
            var addresses: [IPAddress] = []
            for index in 0..<2 {
                let result = try await cluster.addPodResult(pods[index], node: index, id: "pod-\(index + 1)")
                #expect(result.ips.count == 1 && result.ips[0].address.family == .v6, "\(result.ips)")
                #expect(result.routes.map(\.destination.description) == ["::/0"])
                addresses.append(try #require(result.ips.first?.address.address))
            }
            #expect(!(try pods[0].ip(["-4", "addr", "show", "dev", "eth0"]).contains("inet ")))
            for index in 0..<2 { try cluster.startAgent(index) }
            let blocks = try addresses.map(CalicoCluster.block(of:))
            for index in 0..<2 {
                let other = 1 - index
                let learned = try await eventually(within: 30) {
                    try cluster.bgpRoutes(index, ipv6: true)[blocks[other]] == cluster.nodeIPv6(other)
                }
                #expect(learned, "node \(index + 1): \((try? cluster.bgpRoutes(index, ipv6: true)) ?? [:])\n\(cluster.agentLog(index))")
            }
            #expect(try pods[0].ping(addresses[1], waitSeconds: 2))
            #expect(try pods[1].ping(addresses[0], waitSeconds: 2))
            let nat = try cluster.nodes[1].runProcess("/usr/sbin/nft", arguments: ["list", "table", "inet", "swiftcni_nat"])
            #expect(String(decoding: nat.standardOutput, as: UTF8.self).contains("ip6 saddr \(CalicoCluster.pool6) masquerade"))
        }
    }

    /// A failed ADD (the pod already has an eth0) releases the addresses of both families;
    /// CHECK sees the IPv6 default route; a configuration that asks for IPv6 without a pool is
    /// a clear error.
    @Test(.privileged) func failedAddRollsBackBothFamiliesAndCheckSeesIPv6() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico6-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 4) { namespaces in
            let cluster = try CalicoCluster(family: .dual, fabric: namespaces[0], nodes: [namespaces[1]], directory: directory)
            let (good, busy) = (namespaces[2], namespaces[3])
            let harness = cluster.harnesses[0]
            let list = cluster.conflist(0)
            let store = try StoreLocation.open("file:" + harness.storeDirectory)

            try busy.ip(["link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
            let error = await cniError { _ = try await harness.runtime.add(list, harness.attachment("busy", pod: busy)) }
            #expect(error != nil)
            #expect(try await store.get(KeyLayout.handle("k8s-pod-network.busy")) == nil)
            #expect(try await store.list(prefix: KeyLayout.blocks).items.isEmpty)
            #expect(try cluster.nodes[0].ip(["-6", "route", "show", "proto", "92"]).isEmpty)

            let attachment = harness.attachment("good", pod: good)
            _ = try await harness.runtime.add(list, attachment)
            try await harness.runtime.check(list, attachment)
            try good.ip(["-6", "route", "del", "default"])
            let checkError = await cniError { try await harness.runtime.check(list, attachment) }
            #expect(checkError?.message.contains("IPv6 default route") == true, "\(String(describing: checkError))")
            try await harness.runtime.delete(list, attachment)
            #expect(try await store.list(prefix: KeyLayout.blocks).items.isEmpty)

            var plugin = harness.pluginConfiguration(blocks: true)
            plugin["ipam"] = ["type": "calico-ipam", "assign_ipv6": "true", "pools": [["cidr": "10.244.0.0/16"]]]
            let noPool = NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [plugin])
            let poolError = await cniError { _ = try await harness.runtime.add(noPool, harness.attachment("no-pool", pod: good)) }
            #expect(poolError?.code == .invalidNetworkConfig && poolError?.message.contains("assign_ipv6") == true, "\(String(describing: poolError))")
        }
    }

    /// Interop: bird2 in the fabric peers with a dual-stack swift-calico-node over IPv4
    /// (eBGP, a global peer of the configuration file) and learns the node's IPv6 block with
    /// the node's IPv6 address as next hop, and its IPv4 block via its IPv4 address.
    @Test(.privileged) func bird2LearnsTheIPv6BlockWithTheNodesIPv6NextHop() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico6-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 3) { namespaces in
            let cluster = try CalicoCluster(
                family: .dual, fabric: namespaces[0], nodes: [namespaces[1]], directory: directory,
                peers: #"[{"peerIP":"192.168.100.254","asNumber":65001}]"#)
            defer { cluster.stopAll() }
            let bird = """
                router id 192.168.100.254;
                protocol device { scan time 1; }
                protocol bgp calico {
                  local 192.168.100.254 as 65001;
                  neighbor 192.168.100.11 as 64512;
                  hold time 6; connect retry time 1;
                  ipv4 { import all; export none; };
                  ipv6 { import all; export none; };
                }
                """
            try bird.write(toFile: directory + "/bird.conf", atomically: true, encoding: .utf8)
            let daemon = try cluster.fabric.launchProcess(
                "/usr/sbin/bird", arguments: ["-f", "-c", directory + "/bird.conf", "-s", directory + "/bird.ctl"],
                standardError: .file(directory + "/bird.log"))
            defer { _ = daemon.terminate(graceMilliseconds: 3_000) }
            let result = try await cluster.addPodResult(namespaces[2], node: 0, id: "pod-1")
            let blocks = try result.ips.map { try CalicoCluster.block(of: $0.address.address) }
            try cluster.startAgent(0)
            func routes() -> String {
                let output = try? cluster.fabric.runProcess(
                    "/usr/sbin/birdc", arguments: ["-s", directory + "/bird.ctl", "show", "route", "protocol", "calico"],
                    timeoutMilliseconds: 5_000)
                return output.map { String(decoding: $0.standardOutput, as: UTF8.self) } ?? ""
            }
            let learned = await eventually(within: 30) {
                let text = routes()
                return blocks.count == 2 && text.contains(blocks[1]) && text.contains("via fd00:100::11")
                    && text.contains(blocks[0]) && text.contains("via 192.168.100.11")
            }
            #expect(learned, "bird: \(routes())\n\(cluster.agentLog(0))")
        }
    }
}
