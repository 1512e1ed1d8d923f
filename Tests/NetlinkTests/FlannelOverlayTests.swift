import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Flannel VXLAN set", .serialized)
struct FlannelOverlayTests {
    struct Node {
        let namespace: NetworkNamespace
        let handle: NetlinkHandle
        let underlay: IPAddress
        let overlay: IPAddress
        let subnet: IPNetwork
        let mac: MACAddress
    }

    /// The flannel VXLAN backend's device: `flannel.1`, VNI 1, port 8472, no learning, /32 address.
    static func programDevice(_ node: Node, underlay: InterfaceName) throws {
        let options = VXLANOptions(identifier: 1, localAddress: node.underlay, underlayDevice: underlay, port: 8472, learning: false)
        var device = LinkSpecification.vxlan("flannel.1", options: options, mtu: 1450)
        device.macAddress = node.mac
        try node.handle.addLink(device)
        try node.handle.addAddress(Address(IPNetwork(host: node.overlay)), device: "flannel.1")
        try node.handle.setLinkUp("flannel.1")
    }

    /// Per remote node: permanent neighbour, FDB entry, onlink route (what flanneld programs).
    static func programPeer(_ node: Node, remote: Node) throws {
        try node.handle.replaceNeighbor(.permanent(remote.overlay, macAddress: remote.mac), device: "flannel.1")
        try node.handle.replaceNeighbor(.forwardingEntry(remote.mac, destination: remote.underlay), device: "flannel.1")
        try node.handle.replaceRoute(Route(destination: remote.subnet, gateway: remote.overlay, device: "flannel.1",
                                           isOnLink: true, protocolTag: Route.ProtocolTag(91)))
    }

    @Test("vxlan device + permanent neighbour + FDB entry + onlink route carry a ping between two nodes", .privileged)
    func vxlanPing() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let first = try NetlinkHandle(namespace: namespaces[0])
            let second = try NetlinkHandle(namespace: namespaces[1])
            try first.addLink(.veth("under0", peer: "under0", peerNamespace: namespaces[1]))
            try first.addAddress(Address(try IPNetwork(parsing: "192.168.50.1/24")), device: "under0")
            try second.addAddress(Address(try IPNetwork(parsing: "192.168.50.2/24")), device: "under0")
            try first.setLinkUp("under0")
            try second.setLinkUp("under0")
            let nodes = [
                Node(namespace: namespaces[0], handle: first, underlay: try IPAddress(parsing: "192.168.50.1"),
                     overlay: try IPAddress(parsing: "10.244.1.0"), subnet: try IPNetwork(parsing: "10.244.1.0/24"),
                     mac: try MACAddress(parsing: "02:42:0a:f4:01:00")),
                Node(namespace: namespaces[1], handle: second, underlay: try IPAddress(parsing: "192.168.50.2"),
                     overlay: try IPAddress(parsing: "10.244.2.0"), subnet: try IPNetwork(parsing: "10.244.2.0/24"),
                     mac: try MACAddress(parsing: "02:42:0a:f4:02:00")),
            ]
            for node in nodes { try Self.programDevice(node, underlay: "under0") }
            try Self.programPeer(nodes[0], remote: nodes[1])
            try Self.programPeer(nodes[1], remote: nodes[0])

            let route = try inspect(namespaces[0], ["route", "show", "10.244.2.0/24"]).first
            #expect(route?["gateway"] as? String == "10.244.2.0")
            #expect(route?["dev"] as? String == "flannel.1")
            #expect((route?["flags"] as? [String])?.contains("onlink") == true)
            let neighbor = try inspect(namespaces[0], ["neigh", "show", "dev", "flannel.1"]).first
            #expect(neighbor?["lladdr"] as? String == "02:42:0a:f4:02:00")
            let fdb = try inspect(namespaces[0], ["fdb", "show", "dev", "flannel.1"], tool: "bridge")
            #expect(fdb.contains { $0["mac"] as? String == "02:42:0a:f4:02:00" && $0["dst"] as? String == "192.168.50.2" })

            let ping = try run(namespaces[0], "/usr/bin/ping", ["-c1", "-W1", "10.244.2.0"])
            #expect(ping.status.isSuccess, "\(ping.standardOutputText)\(ping.standardErrorText)")
            let back = try run(namespaces[1], "/usr/bin/ping", ["-c1", "-W1", "10.244.1.0"])
            #expect(back.status.isSuccess, "\(back.standardOutputText)\(back.standardErrorText)")
        }
    }
}
