import Foundation
import Lab
import LabProfiles
import Namespaces
import NetPrimitives
import Netlink
import Testing
import ChildProcess
import TestSupport

/// Issue 16 item 1 with flannel: `--ip-family dual` and `ipv6` labs of 3 nodes, a pod per
/// node, with the vxlan and the host-gw backend; every pod reaches every other over each
/// family (TCP and UDP, the lab's probe), the nodes' subnet.env in flannel's names, the IPv6
/// overlay on `flannel-v6.1` (vxlan) or IPv6 routes via the nodes' IPv6 underlay addresses
/// (host-gw), and DEL frees every address of a pod.
enum FlannelDualStackLab {
    static func up(_ name: String, _ directory: String, family: LabIPFamily, backend: FlannelBackend = .vxlan) async throws -> Lab {
        try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: .flannel(backend: backend), nodeCount: 3, ipFamily: family))
    }

    /// Runs `body` in a 3-node flannel lab of `family` (state in a temporary directory, passed
    /// to `body`), then takes it down and checks no namespace is left; cleans up on failure too.
    static func withLab(family: LabIPFamily, backend: FlannelBackend = .vxlan, _ body: (Lab, String) async throws -> Void) async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let directory = root + "/lab"
        let lab = try await up(name, directory, family: family, backend: backend)
        try await body(lab, directory)
        try await lab.down()
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }

    /// A pod per node (`x/p0`…`x/p2`), each with an address of every family of the lab.
    static func addPods(_ lab: Lab, family: LabIPFamily) async throws -> [LabPod] {
        var pods: [LabPod] = []
        for index in 0..<3 { pods.append(try await lab.addPod(try PodReference(namespace: "x", name: "p\(index)"), node: index)) }
        for pod in pods {
            #expect(pod.addresses.count == family.families.count && pod.address == pod.addresses.first, "\(pod.addresses)")
            #expect(family.families.allSatisfy { pod.address(of: $0) != nil } && (family.hasIPv4 || pod.address(of: .v4) == nil))
        }
        return pods
    }

    /// The check every case ends with: over each family of the lab every pod pair connects
    /// (TCP and UDP, both ports), the default probe covers exactly the lab's families, then
    /// (after `meanwhile`, with the pods still all there) DEL of `release` frees every address it had.
    static func expectEveryPairConnectsThenRelease(
        _ lab: Lab, _ directory: String, family: LabIPFamily, release pod: LabPod, meanwhile: () async throws -> Void = {}
    ) async throws {
        for family in family.families {
            let results = try await probeUntilConnected(lab, family: family)
            #expect(results.count == 3 * 2 * 2 * 2 && results.allSatisfy { $0.family == family })
            #expect(results.allSatisfy { $0.connected }, "IPv\(family.rawValue) not connected: \(results.filter { !$0.connected })")
        }
        let defaults = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 1_000))
        #expect(Set(defaults.map(\.family)) == Set(family.families))
        if !family.hasIPv4 {
            // No pod has IPv4: probing it connects nothing.
            #expect(try await lab.probe(ProbeOptions(ports: [80], timeoutMilliseconds: 200, families: [.v4])).allSatisfy { !$0.connected })
        }
        try await meanwhile()
        try await deleteAndCheckReleased(lab, directory, pod: pod)
    }

    /// Probes over `family` until every pair connects (or 60 s pass: the machine may be loaded);
    /// returns the last round's results.
    static func probeUntilConnected(_ lab: Lab, family: IPAddress.Family) async throws -> [ProbeResult] {
        var results: [ProbeResult] = []
        let deadline = ContinuousClock.now + .seconds(60)
        repeat {
            results = try await lab.probe(ProbeOptions(timeoutMilliseconds: 1_000, families: [family]))
            if !results.isEmpty, results.allSatisfy(\.connected) { return results }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        return results
    }

    static func subnetEnvironment(_ directory: String, node: Int) throws -> String {
        try String(contentsOfFile: directory + "/nodes/\(node)/subnet.env", encoding: .utf8)
    }

    /// The reservations of swift-flannel's host-local store on node I (addresses, as file names).
    static func reservations(_ directory: String, node: Int) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/nodes/\(node)/flannel/cbr0")) ?? []
        return names.filter { IPAddress($0) != nil }.sorted()
    }

    /// Deletes pod `pod` (on node `node`) and checks its every address was released.
    static func deleteAndCheckReleased(_ lab: Lab, _ directory: String, pod: LabPod) async throws {
        #expect(Set(reservations(directory, node: pod.node)).isSuperset(of: pod.addresses))
        try await lab.deletePod(try PodReference(namespace: pod.namespace, name: pod.name))
        #expect(Set(reservations(directory, node: pod.node)).isDisjoint(with: pod.addresses), "DEL left \(reservations(directory, node: pod.node))")
        #expect(!NetworkNamespace.exists(name: pod.networkNamespace))
    }
}

@Suite(.serialized) struct FlannelDualStackLabTests {
    @Test(.privileged) func dualStack() async throws {
        try await FlannelDualStackLab.withLab(family: .dual) { lab, directory in
            #expect(await lab.status().ipFamily == .dual)
            let nodes = await lab.nodes()
            #expect(nodes.map(\.underlayIPv6Address) == ["fd77::10", "fd77::11", "fd77::12"])

            // subnet.env: both families in flannel's names, each subnet written as its first host.
            let environment = try FlannelDualStackLab.subnetEnvironment(directory, node: 0)
            #expect(environment.contains("FLANNEL_NETWORK=10.244.0.0/16\n") && environment.contains("FLANNEL_IPV6_NETWORK=fd00:10:244::/56\n"))
            #expect(environment.contains("FLANNEL_SUBNET=10.244.1.1/24\n") && environment.contains("FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n"))
            #expect(environment.contains("FLANNEL_MTU=1430\n"), "the IPv6 VTEP's MTU (1500 − 70) bounds the pods'")

            let pods = try await FlannelDualStackLab.addPods(lab, family: .dual)
            #expect(pods.allSatisfy { $0.address(of: .v6)?.hasPrefix("fd00:10:244:\($0.node + 1)::") == true })
            try await FlannelDualStackLab.expectEveryPairConnectsThenRelease(lab, directory, family: .dual, release: pods[1]) {
                // The IPv6 overlay: flannel-v6.1 over the IPv6 underlay, a route, neighbour and FDB entry per peer.
                let netlink = try NetlinkHandle(namespace: try NetworkNamespace.open(name: nodes[0].networkNamespace))
                let vtep = try #require(try netlink.linkIfPresent(named: "flannel-v6.1"))
                #expect(vtep.vxlan?.localAddress == IPAddress("fd77::10") && vtep.mtu == 1430)
                let routes = try netlink.routes(family: .v6, protocolTag: Route.ProtocolTag(91)).map(\.destination.description).sorted()
                #expect(routes == ["fd00:10:244:2::/64", "fd00:10:244:3::/64"])
                #expect(try netlink.forwardingEntries(device: "flannel-v6.1").compactMap(\.address).map(\.description).sorted() == ["fd77::11", "fd77::12"])

                // `link block` cuts the IPv6 underlay too: IPv6 between pods of nodes 0 and 1 stops, the rest flows.
                try await lab.blockLink(0, 1)
                let cut = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 1_000, families: [.v6]))
                let across = { (result: ProbeResult) in Set([result.from, result.to]) == ["x/p0", "x/p1"] }
                #expect(cut.filter(across).allSatisfy { !$0.connected } && cut.filter { !across($0) }.allSatisfy { $0.connected }, "\(cut)")
                try await lab.unblockLink(0, 1)
                #expect(try await FlannelDualStackLab.probeUntilConnected(lab, family: .v6).allSatisfy { $0.connected })
            }
        }
    }

    @Test(.privileged) func ipv6Only() async throws {
        try await FlannelDualStackLab.withLab(family: .ipv6) { lab, directory in
            #expect(await lab.nodes().map(\.subnet) == ["fd00:10:244:1::/64", "fd00:10:244:2::/64", "fd00:10:244:3::/64"])
            let environment = try FlannelDualStackLab.subnetEnvironment(directory, node: 2)
            #expect(!environment.contains("FLANNEL_NETWORK=") && !environment.contains("FLANNEL_SUBNET="), "\(environment)")
            #expect(environment.hasPrefix("FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:3::1/64\n"), "\(environment)")

            let pods = try await FlannelDualStackLab.addPods(lab, family: .ipv6)
            try await FlannelDualStackLab.expectEveryPairConnectsThenRelease(lab, directory, family: .ipv6, release: pods[0])
        }
    }

    /// host-gw in `dual` and `ipv6` labs: no VTEP, each node routes the other nodes' IPv6
    /// subnets via their IPv6 underlay addresses on `eth0` (and the IPv4 ones via their IPv4
    /// addresses in `dual`), the pods' MTU is the underlay's, every pod pair connects over each family.
    @Test(.privileged, arguments: [LabIPFamily.dual, .ipv6])
    func hostGateway(_ family: LabIPFamily) async throws {
        try await FlannelDualStackLab.withLab(family: family, backend: .hostGateway) { lab, directory in
            let environment = try FlannelDualStackLab.subnetEnvironment(directory, node: 1)
            #expect(environment.contains("FLANNEL_IPV6_SUBNET=fd00:10:244:2::1/64\n") && environment.contains("FLANNEL_MTU=1500\n"), "\(environment)")
            #expect(environment.contains("FLANNEL_SUBNET=10.244.2.1/24\n") == family.hasIPv4, "\(environment)")

            let pods = try await FlannelDualStackLab.addPods(lab, family: family)
            try await FlannelDualStackLab.expectEveryPairConnectsThenRelease(lab, directory, family: family, release: pods[2]) {
                let nodes = await lab.nodes()
                let netlink = try NetlinkHandle(namespace: try NetworkNamespace.open(name: nodes[0].networkNamespace))
                #expect(try netlink.linkIfPresent(named: "flannel-v6.1") == nil && netlink.linkIfPresent(named: "flannel.1") == nil)
                let routes = { (family: IPAddress.Family) in
                    try netlink.routes(family: family, protocolTag: Route.ProtocolTag(91))
                        .map { "\($0.destination) via \($0.gateway.map(\.description) ?? "-") dev \($0.nextHops.first?.device?.value ?? "-")" }.sorted()
                }
                #expect(try routes(.v6) == ["fd00:10:244:2::/64 via fd77::11 dev eth0", "fd00:10:244:3::/64 via fd77::12 dev eth0"])
                #expect(try routes(.v4) == (family.hasIPv4 ? ["10.244.2.0/24 via 192.168.77.11 dev eth0", "10.244.3.0/24 via 192.168.77.12 dev eth0"] : []))
            }
        }
    }

    /// `--ip-masq` in an IPv6-only lab: a pod reaches the fabric's `fd77::1` (outside the cluster
    /// network, no route back to the pods) only masqueraded; pod to pod is not masqueraded.
    @Test(.privileged) func ipv6Masquerade() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(
            LabConfiguration(
                name: name, stateDirectory: root + "/lab", profile: FlannelProfile(backend: .vxlan, ipMasquerade: true), nodeCount: 2,
                ipFamily: .ipv6))
        let pods = [
            try await lab.addPod(try PodReference(namespace: "x", name: "a"), node: 0),
            try await lab.addPod(try PodReference(namespace: "x", name: "b"), node: 1),
        ]
        #expect(try await FlannelDualStackLab.probeUntilConnected(lab, family: .v6).allSatisfy { $0.connected })
        let node = try NetworkNamespace.open(name: await lab.nodes()[0].networkNamespace)
        let table = try node.runProcess("/usr/sbin/nft", arguments: ["list", "table", "inet", "swiftcni_nat"], timeoutMilliseconds: 5_000)
        #expect(table.standardOutputText.contains("ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8"), "\(table.standardOutputText)")
        let pod = try NetworkNamespace.open(name: pods[0].networkNamespace)
        var answered = false
        for _ in 0..<10 where !answered {
            answered = try pod.runProcess("/usr/bin/ping", arguments: ["-6", "-c1", "-W2", "fd77::1"], timeoutMilliseconds: 5_000).status.isSuccess
        }
        #expect(answered, "the fabric answers the masqueraded pod")
        // Without masquerading the fabric has no route back: drop the table and the ping fails.
        _ = try node.runProcess("/usr/sbin/nft", arguments: ["delete", "table", "inet", "swiftcni_nat"], timeoutMilliseconds: 5_000)
        #expect(!(try pod.runProcess("/usr/bin/ping", arguments: ["-6", "-c1", "-W1", "fd77::1"], timeoutMilliseconds: 5_000).status.isSuccess))
        try await lab.down()
    }
}
