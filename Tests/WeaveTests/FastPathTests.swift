import Namespaces
import Netlink
import NetPrimitives
import Routing
import Testing
import TestSupport
import VXLAN
import Weave

/// The fast path between two nodes (namespaces joined by a veth "underlay"): bridge `weave`
/// with the kernel VXLAN port `vxlan-6784` on each, a pod on each bridge, one flat /12. The pods
/// reach each other once the flood lists name the other node; the kernel learns the remote
/// pod's MAC (unicast then goes straight to its node); emptying the flood list removes the
/// learned entry too and the pods are cut off.
@Suite(.serialized) struct FastPathTests {
    static let underlay = ["192.168.90.1", "192.168.90.2"]
    static let bridges = ["10.32.0.1", "10.40.0.1"]
    static let pods = ["10.32.0.2", "10.40.0.2"]

    @Test(.privileged) func podsReachEachOtherOverTheFastPath() async throws {
        try await NamespaceFixture.with(count: 4) { namespaces in
            let nodes = Array(namespaces[0...1])
            let podNamespaces = Array(namespaces[2...3])
            let handles = try nodes.map { try NetlinkHandle(namespace: $0) }
            try handles[0].addLink(.veth("eth0", peer: "eth0", peerNamespace: nodes[1]))
            var reconcilers: [FloodListReconciler] = []
            for index in 0...1 {
                let node = handles[index]
                try node.addAddress(Address(try IPNetwork(parsing: Self.underlay[index] + "/24")), device: "eth0")
                try node.setLinkUp("eth0")
                let port = try BridgedVXLANPort(
                    name: WeaveNames.fastPathDevice, identifier: WeaveNames.fastPathIdentifier, port: WeaveNames.fastPathPort,
                    bridge: WeaveNames.bridge, underlayDevice: "eth0", underlayAddress: try IPAddress(parsing: Self.underlay[index]),
                    underlayMTU: 1500)
                try BridgeAttachment.ensure(
                    BridgeConfiguration(name: WeaveNames.bridge, mtu: port.mtu,
                                        gatewayAddresses: [try IPNetwork(parsing: Self.bridges[index] + "/12")]),
                    host: node)
                let created = try port.ensure(handle: node)
                #expect(created.vxlan?.learning == true && created.vxlan?.port == 6784 && created.mtu == 1450)
                // Idempotent: a second ensure adopts the device.
                #expect(try port.ensure(handle: node).index == created.index)
                let pod = try NetlinkHandle(namespace: podNamespaces[index])
                let attachment = PodAttachment(
                    containerID: "pod\(index)", interfaceName: "eth0", podNamespace: podNamespaces[index], mtu: port.mtu,
                    bridge: WeaveNames.bridge, hairpin: true,
                    hostInterface: WeaveNames.hostInterface(containerID: "pod\(index)", interfaceName: "eth0"))
                _ = try attachment.create(host: node, pod: pod)
                try pod.addAddress(Address(try IPNetwork(parsing: Self.pods[index] + "/12")), device: "eth0")
                reconcilers.append(FloodListReconciler(device: WeaveNames.fastPathDevice))
            }
            // No flood entries: nothing crosses.
            #expect(try !podNamespaces[0].ping(Self.pods[1]))

            let remotes: [Set<IPAddress>] = [[try IPAddress(parsing: Self.underlay[1])], [try IPAddress(parsing: Self.underlay[0])]]
            for index in 0...1 {
                #expect(try reconcilers[index].reconcile(remotes: remotes[index], handle: handles[index]).additions.count == 1)
                #expect(try reconcilers[index].reconcile(remotes: remotes[index], handle: handles[index]).isEmpty)
            }
            #expect(try await eventually(within: 5) { try podNamespaces[0].ping(Self.pods[1]) })
            #expect(try podNamespaces[1].ping(Self.bridges[0]), "pod 1 reaches node 0's bridge address")

            // Node 0 learned pod 1's MAC behind node 1.
            let podMAC = try #require(try NetlinkHandle(namespace: podNamespaces[1]).link(named: "eth0").macAddress)
            let learned = try handles[0].forwardingEntries(device: WeaveNames.fastPathDevice).filter { $0.macAddress == podMAC && $0.address != nil }
            #expect(learned.map(\.address) == [try IPAddress(parsing: Self.underlay[1])], "\(learned)")

            // Node 1 leaves node 0's flood list: its learned entries go too.
            let plan = try reconcilers[0].reconcile(remotes: [], handle: handles[0])
            #expect(plan.deletions.count == 1 && !plan.staleLearned.isEmpty, "\(plan)")
            #expect(try handles[0].forwardingEntries(device: WeaveNames.fastPathDevice).allSatisfy { $0.address == nil })
        }
    }
}
