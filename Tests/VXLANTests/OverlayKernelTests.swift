import Foundation
import Namespaces
import NetPrimitives
import Netlink
import Routing
import TestSupport
import Testing

@testable import VXLAN

/// Node namespaces joined through a bridge in a "fabric" namespace (`namespaces[0]`).
struct OverlayFabric {
    let fabric: NetworkNamespace
    let nodes: [NetworkNamespace]
    let handles: [NetlinkHandle]

    init(_ namespaces: [NetworkNamespace]) throws {
        fabric = namespaces[0]
        nodes = Array(namespaces.dropFirst())
        let bridge = try NetlinkHandle(namespace: fabric)
        try bridge.addLink(.bridge("br0"))
        try bridge.setLinkUp("br0")
        var handles: [NetlinkHandle] = []
        for (index, node) in nodes.enumerated() {
            let port = try InterfaceName("n\(index + 1)")
            try bridge.addLink(.veth(port, peer: "eth0", peerNamespace: node))
            try bridge.setMaster("br0", of: port)
            try bridge.setLinkUp(port)
            let handle = try NetlinkHandle(namespace: node)
            try handle.addAddress(Address(try IPNetwork(parsing: "192.168.50.1\(index + 1)/24")), device: "eth0")
            try handle.setLinkUp("eth0")
            handles.append(handle)
        }
        self.handles = handles
    }

    func vtep(_ index: Int) throws -> VTEPDevice {
        try VTEPDevice(nodeName: "node-\(index + 1)", subnet: try IPNetwork(parsing: "10.244.\(index + 1).0/24"), underlayDevice: "eth0",
                       underlayAddress: try IPAddress(parsing: "192.168.50.1\(index + 1)"), underlayMTU: 1500)
    }

    static func json(_ namespace: NetworkNamespace, _ arguments: [String], tool: String = "ip") throws -> [[String: Any]] {
        let output = try namespace.runProcess("/usr/sbin/\(tool)", arguments: ["-j"] + arguments, timeoutMilliseconds: 5000)
        let text = output.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    static func ping(_ namespace: NetworkNamespace, _ address: String) throws -> Bool {
        try namespace.runProcess("/usr/bin/ping", arguments: ["-c1", "-W1", address], timeoutMilliseconds: 5000).status.isSuccess
    }
}

@Suite("VXLAN overlay in namespaces", .serialized)
struct OverlayKernelTests {
    @Test("three nodes: VTEP as flannel makes it, one neighbour/FDB/route per peer, pings, a node leaving, restart", .privileged)
    func threeNodes() async throws {
        try await NamespaceFixture.with(count: 4) { namespaces in
            let lab = try OverlayFabric(namespaces)
            var states: [VTEPDevice.State] = []
            for index in 0..<3 { states.append(try lab.vtep(index).ensure(handle: lab.handles[index])) }
            #expect(states.allSatisfy { $0.created })
            let peers = (0..<3).map { index in
                OverlayPeer(subnet: try! IPNetwork(parsing: "10.244.\(index + 1).0/24"),
                            underlayAddress: try! IPAddress(parsing: "192.168.50.1\(index + 1)"), vtepMACAddress: states[index].macAddress)
            }
            for index in 0..<3 {
                let overlay = OverlayReconciler(device: "flannel.1", localSubnet: peers[index].subnet)
                let outcome = try overlay.reconcile(peers: peers, handle: lab.handles[index])
                #expect(outcome.succeeded, "\(outcome.failures)")
                #expect(try overlay.reconcile(peers: peers, handle: lab.handles[index]).plan.isEmpty)
            }

            let link = try OverlayFabric.json(lab.nodes[0], ["-d", "link", "show", "flannel.1"]).first
            #expect(link?["mtu"] as? Int == 1450)
            #expect(link?["address"] as? String == states[0].macAddress.description)
            let data = (link?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(data?["id"] as? Int == 1)
            #expect(data?["port"] as? Int == 8472)
            #expect(data?["learning"] as? Bool == false)
            let address = try OverlayFabric.json(lab.nodes[0], ["addr", "show", "flannel.1"]).first?["addr_info"] as? [[String: Any]]
            #expect(address?.first?["local"] as? String == "10.244.1.0")
            #expect(address?.first?["prefixlen"] as? Int == 32)

            let routes = try OverlayFabric.json(lab.nodes[0], ["route", "show", "proto", "91"])
            #expect(Set(routes.compactMap { $0["dst"] as? String }) == ["10.244.2.0/24", "10.244.3.0/24"])
            #expect(routes.allSatisfy { ($0["flags"] as? [String])?.contains("onlink") == true && $0["dev"] as? String == "flannel.1" })
            let neighbors = try OverlayFabric.json(lab.nodes[0], ["neigh", "show", "dev", "flannel.1", "nud", "permanent"])
            #expect(neighbors.count == 2)
            let fdb = try OverlayFabric.json(lab.nodes[0], ["fdb", "show", "dev", "flannel.1"], tool: "bridge")
            #expect(fdb.filter { $0["dst"] != nil }.count == 2)
            #expect(fdb.contains { $0["mac"] as? String == states[2].macAddress.description && $0["dst"] as? String == "192.168.50.13" })

            for (from, to) in [(0, "10.244.2.0"), (0, "10.244.3.0"), (1, "10.244.3.0"), (2, "10.244.1.0")] {
                #expect(try OverlayFabric.ping(lab.nodes[from], to), "node \(from + 1) → \(to)")
            }

            // Node 3 leaves: node 1 drops its entries.
            let overlay = OverlayReconciler(device: "flannel.1", localSubnet: peers[0].subnet)
            let left = try overlay.reconcile(peers: Array(peers.prefix(2)), handle: lab.handles[0])
            #expect(left.succeeded, "\(left.failures)")
            #expect(try OverlayFabric.json(lab.nodes[0], ["route", "show", "proto", "91"]).compactMap { $0["dst"] as? String } == ["10.244.2.0/24"])
            #expect(try OverlayFabric.json(lab.nodes[0], ["neigh", "show", "dev", "flannel.1", "nud", "permanent"]).count == 1)
            #expect(try OverlayFabric.json(lab.nodes[0], ["fdb", "show", "dev", "flannel.1"], tool: "bridge").filter { $0["dst"] != nil }.count == 1)
            #expect(try !OverlayFabric.ping(lab.nodes[0], "10.244.3.0"))

            // A restart adopts the device and keeps its MAC.
            let restarted = try lab.vtep(0).ensure(handle: lab.handles[0])
            #expect(!restarted.created)
            #expect(restarted.macAddress == states[0].macAddress)
            #expect(try OverlayFabric.ping(lab.nodes[0], "10.244.2.0"))
        }
    }

    @Test("a VTEP whose settings changed is recreated with its old MAC; a stale address is removed", .privileged)
    func recreate() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let lab = try OverlayFabric(namespaces)
            let custom = try MACAddress(parsing: "02:aa:bb:cc:dd:ee")
            var old = LinkSpecification.vxlan("flannel.1", options: VXLANOptions(identifier: 1, localAddress: try IPAddress(parsing: "192.168.50.11"),
                                                                                  underlayDevice: "eth0", port: 4789, learning: true), mtu: 1400)
            old.macAddress = custom
            try lab.handles[0].addLink(old)
            try lab.handles[0].addAddress(Address(try IPNetwork(parsing: "10.244.9.0/32")), device: "flannel.1")
            let state = try lab.vtep(0).ensure(handle: lab.handles[0])
            #expect(state.created)
            #expect(state.macAddress == custom)
            let link = try OverlayFabric.json(lab.nodes[0], ["-d", "link", "show", "flannel.1"]).first
            let data = (link?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(data?["port"] as? Int == 8472)
            #expect(link?["mtu"] as? Int == 1450)
            let addresses = try OverlayFabric.json(lab.nodes[0], ["-4", "addr", "show", "flannel.1"]).first?["addr_info"] as? [[String: Any]]
            #expect(addresses?.compactMap { $0["local"] as? String } == ["10.244.1.0"])
        }
    }

    @Test("DirectRouting: peers on the same underlay subnet are routed directly and still reachable", .privileged)
    func directRouting() async throws {
        try await NamespaceFixture.with(count: 3) { namespaces in
            let lab = try OverlayFabric(namespaces)
            var states: [VTEPDevice.State] = []
            for index in 0..<2 { states.append(try lab.vtep(index).ensure(handle: lab.handles[index])) }
            let peers = (0..<2).map { index in
                OverlayPeer(subnet: try! IPNetwork(parsing: "10.244.\(index + 1).0/24"),
                            underlayAddress: try! IPAddress(parsing: "192.168.50.1\(index + 1)"), vtepMACAddress: states[index].macAddress)
            }
            for index in 0..<2 {
                let overlay = OverlayReconciler(device: "flannel.1", localSubnet: peers[index].subnet, directRouting: true,
                                                underlayDevice: "eth0", underlayNetwork: try IPNetwork(parsing: "192.168.50.0/24"))
                let outcome = try overlay.reconcile(peers: peers, handle: lab.handles[index])
                #expect(outcome.succeeded, "\(outcome.failures)")
            }
            let route = try OverlayFabric.json(lab.nodes[0], ["route", "show", "proto", "91"])
            #expect(route.count == 1)
            #expect(route.first?["gateway"] as? String == "192.168.50.12")
            #expect(route.first?["dev"] as? String == "eth0")
            #expect(try OverlayFabric.json(lab.nodes[0], ["neigh", "show", "dev", "flannel.1", "nud", "permanent"]).isEmpty)
            #expect(try OverlayFabric.ping(lab.nodes[0], "10.244.2.0"))
        }
    }
}
