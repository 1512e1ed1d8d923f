import AgentHTTP
import Datastore
import Foundation
import NetPrimitives
import Netlink
import TestSupport
import Testing

@testable import swift_flanneld

@Suite("swift-flanneld: configuration and files")
struct FlannelAgentUnitTests {
    @Test("backend section: defaults, host-gw, DirectRouting, bad values")
    func backend() throws {
        let defaults = try BackendConfiguration(nil)
        #expect(defaults.kind == .vxlan && defaults.identifier == 1 && defaults.port == 8472 && !defaults.directRouting)
        let custom = try BackendConfiguration(["Type": "vxlan", "VNI": 4, "Port": 4789, "DirectRouting": true])
        #expect(custom.identifier == 4 && custom.port == 4789 && custom.directRouting)
        #expect(try BackendConfiguration(["Type": "host-gw"]).kind == .hostGateway)
        #expect(throws: AgentError.self) { try BackendConfiguration(["Type": "udp"]) }
        #expect(throws: AgentError.self) { try BackendConfiguration(["VNI": 16_777_216]) }
    }

    @Test("masquerade table: pod to pod returns, leaving the network masquerades")
    func masquerade() throws {
        let contents = try Masquerade.contents(network: try IPNetwork(parsing: "10.244.0.0/16"))
        #expect(contents.table.name == "swiftcni_nat")
        #expect(contents.rules.count == 2)
        #expect(contents.rules[0].description.contains("return"))
        #expect(contents.rules[1].description.contains("masquerade"))
    }

    @Test("masquerade table, dual-stack and IPv6-only: the same rules for ip6, multicast ff00::/8 excluded")
    func masqueradeIPv6() throws {
        let dual = try Masquerade.contents(network: try IPNetwork(parsing: "10.244.0.0/16"), ipv6Network: try IPNetwork(parsing: "fd00:10:244::/56"))
        #expect(dual.rules.count == 4)
        #expect(dual.rules[2].description.contains("fd00:10:244::/56") && dual.rules[2].description.contains("return"))
        #expect(dual.rules[3].description.contains("ff00::/8") && dual.rules[3].description.contains("masquerade"))
        let ipv6Only = try Masquerade.contents(network: nil, ipv6Network: try IPNetwork(parsing: "fd00:10:244::/56"))
        #expect(ipv6Only.rules.count == 2 && ipv6Only.rules.allSatisfy { !$0.description.contains("10.244.0.0") })
    }

    @Test("--public-ipv6 must be an IPv6 address")
    func publicIPv6() throws {
        let required = ["--node", "n1", "--iface", "eth0", "--store", "file:/nonexistent"]
        #expect(try SwiftFlanneld.parse(required + ["--public-ipv6", "fd77::10"]).publicIpv6 == "fd77::10")
        for bad in ["192.168.77.10", "banana"] {
            #expect(throws: (any Error).self, "\(bad)") { try SwiftFlanneld.parse(required + ["--public-ipv6", bad]) }
        }
    }

    @Test("--listen parsing (AgentHTTP's ListenAddress; a bad value is a usage error)")
    func listen() throws {
        let required = ["--node", "n1", "--iface", "eth0", "--store", "file:/nonexistent"]
        #expect(try SwiftFlanneld.parse(required + ["--listen", "127.0.0.1:9101"]).listen == "127.0.0.1:9101")
        #expect(try SwiftFlanneld.parse(required + ["--listen", ":80"]).listen == ":80")
        for bad in ["nope", "127.0.0.1:99999", "::1:80"] {
            #expect(throws: (any Error).self, "\(bad)") { try SwiftFlanneld.parse(required + ["--listen", bad]) }
        }
    }
}

@Suite("swift-flanneld in node namespaces", .serialized)
struct FlannelAgentClusterTests {
    static let vxlan = #"{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}"#
    static let hostGateway = #"{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"host-gw"}}"#

    @Test("vxlan: three agents lease distinct subnets, program the overlay, pods reach each other; a node leaves; a restart keeps traffic",
          .privileged, .timeLimit(.minutes(1)))
    func vxlan() async throws {
        try await FlannelCluster.with(nodes: 3) { cluster in
            try await cluster.writeConfiguration(Self.vxlan)
            for index in 0..<3 { try cluster.start(index) }
            for index in 0..<3 {
                #expect(cluster.eventually { cluster.subnetEnvironment(index) != nil }, "node \(index + 1): \(cluster.log(index))")
            }
            let subnets = (0..<3).compactMap(cluster.subnet)
            #expect(Set(subnets).count == 3, "\(subnets)")
            let environment = try #require(cluster.subnetEnvironment(0))
            #expect(environment["FLANNEL_NETWORK"] == "10.244.0.0/16")
            #expect(environment["FLANNEL_MTU"] == "1450")
            #expect(environment["FLANNEL_IPMASQ"] == "false")
            #expect(environment["FLANNEL_SUBNET"]?.hasSuffix(".1/24") == true)

            for index in 0..<3 {
                let others = Set((0..<3).filter { $0 != index }.map { subnets[$0].description })
                #expect(try cluster.eventually { try cluster.overlayRoutes(index) == others }, "node \(index + 1): \(cluster.log(index))")
                #expect(try cluster.eventually { try cluster.permanentNeighbors(index) == 2 })
                #expect(try cluster.forwardingEntries(index).count == 2)
            }
            let link = try cluster.json(0, ["-d", "link", "show", "flannel.1"]).first
            #expect(link?["mtu"] as? Int == 1450)

            let pods = try (0..<3).map { try cluster.addPodAddress($0) }
            for (from, to) in [(0, 1), (0, 2), (1, 2), (2, 0)] {
                #expect(try cluster.ping(from: from, source: pods[from], to: pods[to]), "pod \(from + 1) → pod \(to + 1)")
            }
            #expect(try cluster.eventually { try cluster.http(0, "/healthz").ok })
            let metrics = try cluster.http(0, "/metrics")
            #expect(metrics.body.contains("flannel_remote_nodes 2"), "\(metrics.body)")

            // Node 3 leaves: agent stopped, lease deleted by an admin.
            #expect(cluster.stop(2), "\(cluster.log(2))")
            #expect(try await cluster.deleteLease(subnets[2]))
            for index in 0..<2 {
                #expect(try cluster.eventually { try cluster.overlayRoutes(index) == [subnets[1 - index].description] },
                        "node \(index + 1): \(cluster.log(index))")
                #expect(try cluster.permanentNeighbors(index) == 1)
                #expect(try cluster.forwardingEntries(index).count == 1)
            }

            // Restart node 1's agent under a probe loop (40 pings, 50 ms apart): the data path
            // stays during the gap, nothing is lost, the subnet comes back, nothing is changed.
            let probe = try cluster.nodes[0].launchProcess(
                "/usr/bin/ping", arguments: ["-q", "-c", "40", "-i", "0.05", "-W", "1", "-I", pods[0], pods[1]],
                standardOutput: .file(cluster.directory + "/probe.txt"))
            usleep(300_000)
            #expect(cluster.stop(0), "\(cluster.log(0))")
            #expect(try cluster.overlayRoutes(0) == [subnets[1].description])
            let before = cluster.log(0).count
            try cluster.start(0)
            #expect(try cluster.eventually { try cluster.http(0, "/healthz").ok }, "\(cluster.log(0))")
            #expect(cluster.subnet(0) == subnets[0])
            #expect(try cluster.overlayRoutes(0) == [subnets[1].description])
            #expect(try probe.wait().isSuccess)
            let report = (try? String(contentsOfFile: cluster.directory + "/probe.txt", encoding: .utf8)) ?? ""
            #expect(report.contains(" 0% packet loss"), "\(report)")
            #expect(try cluster.ping(from: 1, source: pods[1], to: pods[0]))
            let restartLog = String(cluster.log(0).dropFirst(before))
            #expect(!restartLog.contains("converged"), "a restart must find nothing to change: \(restartLog)")
        }
    }

    @Test("host-gw: routes via the node IPs, pods reach each other, a node leaves", .privileged, .timeLimit(.minutes(1)))
    func hostGateway() async throws {
        try await FlannelCluster.with(nodes: 3) { cluster in
            try await cluster.writeConfiguration(Self.hostGateway)
            for index in 0..<3 { try cluster.start(index, extra: index == 0 ? ["--ip-masq"] : []) }
            for index in 0..<3 {
                #expect(cluster.eventually { cluster.subnetEnvironment(index) != nil }, "node \(index + 1): \(cluster.log(index))")
            }
            let subnets = (0..<3).compactMap(cluster.subnet)
            #expect(Set(subnets).count == 3)
            #expect(cluster.subnetEnvironment(0)?["FLANNEL_IPMASQ"] == "true")
            #expect(cluster.subnetEnvironment(1)?["FLANNEL_IPMASQ"] == "false")
            #expect(cluster.subnetEnvironment(0)?["FLANNEL_MTU"] == "1500")
            for index in 0..<3 {
                let others = Set((0..<3).filter { $0 != index }.map { subnets[$0].description })
                #expect(try cluster.eventually { try cluster.overlayRoutes(index) == others }, "node \(index + 1): \(cluster.log(index))")
            }
            let route = try cluster.json(0, ["route", "show", subnets[1].description]).first
            #expect(route?["gateway"] as? String == "192.168.50.12")
            #expect(route?["dev"] as? String == "eth0")
            #expect(try cluster.json(0, ["link", "show", "flannel.1"]).isEmpty)

            let pods = try (0..<3).map { try cluster.addPodAddress($0) }
            for (from, to) in [(0, 1), (1, 2), (2, 0)] {
                #expect(try cluster.ping(from: from, source: pods[from], to: pods[to]), "pod \(from + 1) → pod \(to + 1)")
            }

            // --ip-masq on node 1: pod to pod is not masqueraded, pod to outside the network is.
            #expect(try cluster.masqueradeCounters(0) == [1, 0])
            #expect(try cluster.ping(from: 0, source: pods[0], to: "192.168.50.13"))
            #expect(try cluster.masqueradeCounters(0) == [1, 1])
            #expect(try cluster.masqueradeCounters(1).isEmpty, "no table without --ip-masq")

            #expect(cluster.stop(1), "\(cluster.log(1))")
            #expect(try await cluster.deleteLease(subnets[1]))
            #expect(try cluster.eventually { try cluster.overlayRoutes(0) == [subnets[2].description] }, "\(cluster.log(0))")
            #expect(try cluster.eventually { try cluster.overlayRoutes(2) == [subnets[0].description] }, "\(cluster.log(2))")
        }
    }

    @Test("vxlan with a real etcd (in the fabric namespace): agents converge, pods reach each other, a node leaves",
          .privileged, .timeLimit(.minutes(1)))
    func vxlanWithEtcd() async throws {
        try await FlannelCluster.with(nodes: 3, etcd: true) { cluster in
            try await cluster.writeConfiguration(Self.vxlan)
            for index in 0..<3 { try cluster.start(index) }
            for index in 0..<3 {
                #expect(cluster.eventually { cluster.subnetEnvironment(index) != nil }, "node \(index + 1): \(cluster.log(index))")
            }
            let subnets = (0..<3).compactMap(cluster.subnet)
            try #require(Set(subnets).count == 3, "\(subnets)")
            for index in 0..<3 {
                let others = Set((0..<3).filter { $0 != index }.map { subnets[$0].description })
                #expect(try cluster.eventually { try cluster.overlayRoutes(index) == others }, "node \(index + 1): \(cluster.log(index))")
            }
            let pods = try (0..<3).map { try cluster.addPodAddress($0) }
            for (from, to) in [(0, 1), (1, 2), (2, 0)] {
                #expect(try cluster.ping(from: from, source: pods[from], to: pods[to]), "pod \(from + 1) → pod \(to + 1)")
            }
            #expect(cluster.stop(2), "\(cluster.log(2))")
            #expect(try await cluster.deleteLease(subnets[2]))
            for index in 0..<2 {
                #expect(try cluster.eventually { try cluster.overlayRoutes(index) == [subnets[1 - index].description] },
                        "node \(index + 1): \(cluster.log(index))")
                #expect(try cluster.eventually { try cluster.permanentNeighbors(index) == 1 && cluster.forwardingEntries(index).count == 1 })
            }
        }
    }

    @Test("autodetection: --iface-regex picks one address of several on a second interface, --public-ip is announced, the MTU follows the interface; without options the default route's interface",
          .privileged, .timeLimit(.minutes(1)))
    func autodetection() async throws {
        try await FlannelCluster.with(nodes: 1) { cluster in
            try await cluster.writeConfiguration(Self.vxlan)
            let node = try NetlinkHandle(namespace: cluster.nodes[0])
            try node.addLink(.veth("ens9", peer: "ens9p", mtu: 1_400))
            for address in ["10.77.0.5/24", "10.77.0.6/24"] { try node.addAddress(Address(try IPNetwork(parsing: address)), device: "ens9") }
            try node.setLinkUp("ens9")
            try node.setLinkUp("ens9p")
            try cluster.start(0, interface: ["--iface", "nosuch0", "--iface-regex", "^10\\.77\\.0\\.6$", "--public-ip", "203.0.113.9"])
            #expect(cluster.eventually { cluster.subnetEnvironment(0) != nil }, "\(cluster.log(0))")
            #expect(cluster.subnetEnvironment(0)?["FLANNEL_MTU"] == "1350")
            let lease = try #require(try await cluster.store.list(prefix: KeyLayout.flannelSubnets(prefix: FlannelCluster.prefix)).items.first)
            #expect(lease.string.contains("\"PublicIP\":\"203.0.113.9\""), "\(lease.string)")
            let vtep = try #require(try cluster.json(0, ["-d", "link", "show", "flannel.1"]).first)
            let data = (vtep["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(data?["local"] as? String == "10.77.0.6" && vtep["mtu"] as? Int == 1350, "\(vtep)")
            #expect(cluster.stop(0))

            // No option: the interface of the default route (eth0), its address.
            try node.deleteLink(named: "flannel.1")
            try node.replaceRoute(Route(destination: try IPNetwork(parsing: "0.0.0.0/0"), gateway: try IPAddress(parsing: "192.168.50.1"), device: "eth0"))
            try cluster.start(0, interface: [])
            #expect(cluster.eventually { (try? cluster.json(0, ["-d", "link", "show", "flannel.1"]).first).flatMap { ($0["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any] }?["local"] as? String == "192.168.50.11" }, "\(cluster.log(0))")
            #expect(cluster.eventually { cluster.subnetEnvironment(0)?["FLANNEL_MTU"] == "1450" })
        }
    }

    @Test("bad input: missing flags, a bad store URL, an unsupported backend and a missing interface exit non-zero with a clear message",
          .privileged, .timeLimit(.minutes(1)))
    func badInput() async throws {
        try await FlannelCluster.with(nodes: 1) { cluster in
            let node = cluster.nodes[0]
            let usage = try node.runProcess(FlannelCluster.binary, arguments: ["--node", "n1"], timeoutMilliseconds: 5000)
            #expect(!usage.status.isSuccess)
            #expect(usage.standardErrorText.contains("--store"), "\(usage.standardErrorText)")
            let regex = try node.runProcess(
                FlannelCluster.binary, arguments: ["--node", "n1", "--iface-regex", "(", "--store", cluster.storeLocation], timeoutMilliseconds: 5000)
            #expect(!regex.status.isSuccess && regex.standardErrorText.contains("--iface-regex"), "\(regex.standardErrorText)")
            let store = try node.runProcess(
                FlannelCluster.binary, arguments: ["--node", "n1", "--iface", "eth0", "--store", "redis:x"], timeoutMilliseconds: 5000)
            #expect(!store.status.isSuccess)
            #expect(store.standardErrorText.contains("file:DIR or etcd:"), "\(store.standardErrorText)")

            try await cluster.writeConfiguration(#"{"Network":"10.244.0.0/16","Backend":{"Type":"udp"}}"#)
            let backend = try node.runProcess(
                FlannelCluster.binary, arguments: ["--node", "n1", "--iface", "eth0", "--store", cluster.storeLocation,
                                                   "--subnet-file", cluster.subnetFile(0)], timeoutMilliseconds: 10000)
            #expect(!backend.status.isSuccess)
            #expect(backend.standardErrorText.contains("unsupported backend type \"udp\""), "\(backend.standardErrorText)")

            try await cluster.writeConfiguration(Self.vxlan)
            let missing = try node.runProcess(
                FlannelCluster.binary, arguments: ["--node", "n1", "--iface", "nosuch0", "--store", cluster.storeLocation,
                                                   "--subnet-file", cluster.subnetFile(0)], timeoutMilliseconds: 10000)
            #expect(!missing.status.isSuccess)
            #expect(missing.standardErrorText.contains("nosuch0"), "\(missing.standardErrorText)")
            #expect(cluster.subnetEnvironment(0) == nil)
        }
    }

    @Test("the lease is renewed before its TTL, and leased again with the same subnet when an admin deletes it",
          .privileged, .timeLimit(.minutes(1)))
    func leaseRenewal() async throws {
        try await FlannelCluster.with(nodes: 1) { cluster in
            try await cluster.writeConfiguration(Self.vxlan)
            try cluster.start(0, extra: ["--lease-ttl", "3"])
            #expect(cluster.eventually { cluster.subnetEnvironment(0) != nil }, "\(cluster.log(0))")
            let subnet = try #require(cluster.subnet(0))
            let key = "\(FlannelCluster.prefix)/subnets/\(subnet.address)-\(subnet.prefixLength)"
            try await Task.sleep(for: .seconds(5))
            #expect(try await cluster.store.get(key) != nil, "the 3 s lease expired: \(cluster.log(0))")
            #expect(try cluster.http(0, "/metrics").body.contains("flannel_lease_renewals_total"))

            #expect(try await cluster.store.delete(key))
            var back = false
            for _ in 0..<50 where !back {
                try await Task.sleep(for: .milliseconds(100))
                back = try await cluster.store.get(key) != nil
            }
            #expect(back, "\(cluster.log(0))")
            #expect(cluster.subnet(0) == subnet)
        }
    }
}
