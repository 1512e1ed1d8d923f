import Foundation
import Lab
import LabProfiles
import NetPrimitives
import Testing
import TestSupport

/// Issue 16 item 1 with calico and canal: 3-node labs with `--ip-family dual` and `ipv6`, a pod
/// per node; every pod gets an address of each of the lab's families and reaches every other
/// pod over each (TCP and UDP, the lab's probe). calico: IPv6 blocks of `fd00:10:244::/104`
/// learned over BGP (MP-BGP over the IPv4 sessions in `dual`, IPv6 sessions in `ipv6`); canal:
/// flannel's IPv6 subnet per node over `flannel-v6.1`, the routed veth's link-local gateway.
@Suite(.serialized) struct CalicoCanalDualStackLabTests {
    static let cases: [(String, LabIPFamily)] = [("calico", .dual), ("calico", .ipv6), ("canal", .dual), ("canal", .ipv6)]

    @Test(.privileged, arguments: 0..<cases.count)
    func everyPodReachesEveryOtherOverEachFamily(_ index: Int) async throws {
        let (plugin, family) = Self.cases[index]
        let profile: any LabProfile = plugin == "calico" ? CalicoProfile(.fast) : CanalProfile()
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: root + "/lab", profile: profile, nodeCount: 3, ipFamily: family))
        var pods: [LabPod] = []
        for node in 0..<3 { pods.append(try await lab.addPod(try PodReference(namespace: "x", name: "p\(node)"), node: node)) }
        for pod in pods {
            #expect(pod.addresses.count == family.families.count, "\(plugin) \(family): \(pod.addresses)")
            for podFamily in family.families { #expect(pod.address(of: podFamily) != nil, "\(plugin) \(family): \(pod.addresses)") }
            if plugin == "calico", family.hasIPv6 { #expect(pod.address(of: .v6)?.hasPrefix("fd00:10:244::") == true, "\(pod.addresses)") }
        }
        for podFamily in family.families {
            let results = try await FlannelDualStackLab.probeUntilConnected(lab, family: podFamily)
            #expect(results.count == 6 * 2 * 2, "6 pairs, 2 ports, TCP and UDP; \(plugin) \(family) over IPv\(podFamily == .v4 ? 4 : 6): \(results.count) probes")
            let failed = results.filter { !$0.connected }
            #expect(failed.isEmpty, "\(plugin) \(family) over IPv\(podFamily == .v4 ? 4 : 6): \(failed)")
        }
        if !family.hasIPv4 {
            let none = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500, families: [.v4]))
            let connected = none.filter(\.connected)
            #expect(connected.isEmpty, "IPv4 in an ipv6 lab: \(connected)")
        }
        if plugin == "calico" {
            // Each node reports its IPv6 block beside (or instead of) its IPv4 one.
            for node in await lab.nodes() {
                let subnet = CalicoProfile().reportedSubnet(of: node) ?? ""
                #expect(subnet.contains("fd00:10:244::") == family.hasIPv6, "node \(node.index): \(subnet)")
            }
        }
        for pod in pods { try await lab.deletePod(try PodReference(namespace: pod.namespace, name: pod.name)) }
    }
}
