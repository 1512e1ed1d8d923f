import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Links", .serialized)
struct LinkTests {
    @Test("veth pair with the peer created directly in another namespace", .privileged)
    func vethAcrossNamespaces() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let node = try NetlinkHandle(namespace: namespaces[0])
            let pod = try NetlinkHandle(namespace: namespaces[1])
            try node.addLink(.veth("veth0", peer: "eth0", peerNamespace: namespaces[1], mtu: 1400))
            let host = try node.link(named: "veth0")
            #expect(host.kind == .veth)
            #expect(host.mtu == 1400)
            let inPod = try pod.link(named: "eth0")
            #expect(inPod.kind == .veth)
            let shown = try inspect(namespaces[1], ["-d", "link", "show", "eth0"])
            #expect(shown.first?["mtu"] as? Int == 1400)
            #expect((shown.first?["linkinfo"] as? [String: Any])?["info_kind"] as? String == "veth")
            #expect(try node.linkIfPresent(named: "eth0") == nil)
        }
    }

    @Test("exclusive create, up/down, MTU, MAC, rename, delete", .privileged)
    func lifecycle() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("a0", peer: "b0"))
            let duplicate = #expect(throws: NetlinkError.self) { try handle.addLink(.veth("a0", peer: "b1")) }
            #expect(duplicate?.errno == EEXIST)
            #expect(duplicate?.isAlreadyExists == true)
            try handle.setLinkUp("a0")
            try handle.setLinkUp("b0")
            #expect(try handle.link(named: "a0").isUp)
            #expect((try inspect(namespaces[0], ["link", "show", "a0"]).first?["flags"] as? [String] ?? []).contains("UP"))
            try handle.setLinkDown("a0")
            #expect(try !handle.link(named: "a0").isUp)
            try handle.setMTU(1300, of: "a0")
            let mac = try MACAddress(parsing: "02:11:22:33:44:55")
            try handle.setMACAddress(mac, of: "a0")
            let shown = try inspect(namespaces[0], ["link", "show", "a0"]).first
            #expect(shown?["mtu"] as? Int == 1300)
            #expect(shown?["address"] as? String == "02:11:22:33:44:55")
            try handle.renameLink("a0", to: "renamed0")
            #expect(try handle.linkIfPresent(named: "a0") == nil)
            let renamed = try handle.link(named: "renamed0")
            #expect(try handle.link(index: renamed.index).name == "renamed0")
            #expect(try handle.links().map(\.name).contains("renamed0"))
            try handle.deleteLink(named: "renamed0")
            #expect(try handle.linkIfPresent(named: "b0") == nil)
            let missing = #expect(throws: NetlinkError.self) { try handle.deleteLink(named: "nothere") }
            #expect(missing?.errno == ENODEV)
        }
    }

    @Test("bridge with vlan filtering off, master/nomaster, hairpin on a port", .privileged)
    func bridgePorts() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.bridge("cni0"))
            try handle.addLink(.veth("port0", peer: "peer0"))
            try handle.setMaster("cni0", of: "port0")
            try handle.setHairpin(true, port: "port0")
            let bridge = try handle.link(named: "cni0")
            #expect(bridge.bridge?.vlanFiltering == false)
            let port = try handle.link(named: "port0")
            #expect(port.masterIndex == bridge.index)
            #expect(port.isHairpin == true)
            let shown = try inspect(namespaces[0], ["-d", "link", "show", "cni0"]).first
            let data = (shown?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
            #expect(data?["vlan_filtering"] as? Int == 0)
            let ports = try inspect(namespaces[0], ["link", "show"], tool: "bridge")
            #expect(ports.first { $0["ifname"] as? String == "port0" }?["master"] as? String == "cni0")
            let detail = try inspect(namespaces[0], ["-d", "link", "show", "port0"]).first
            let slave = (detail?["linkinfo"] as? [String: Any])?["info_slave_data"] as? [String: Any]
            #expect(slave?["hairpin"] as? Bool == true)
            try handle.removeMaster(of: "port0")
            #expect(try handle.link(named: "port0").masterIndex == nil)
        }
    }

    @Test("vxlan with VNI, local, underlay, port, learning, GBP, ttl, udp checksum", .privileged)
    func vxlanDevice() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("under0", peer: "under1"))
            let options = VXLANOptions(
                identifier: 4242, localAddress: try IPAddress(parsing: "192.0.2.1"), underlayDevice: "under0",
                port: 4789, learning: false, groupPolicy: true, timeToLive: 64, udpChecksum: true)
            try handle.addLink(.vxlan("vx0", options: options, mtu: 1450))
            let link = try handle.link(named: "vx0")
            #expect(link.kind == .vxlan)
            #expect(link.vxlan?.identifier == 4242)
            #expect(link.vxlan?.port == 4789)
            #expect(link.vxlan?.groupPolicy == true)
            #expect(link.vxlan?.underlayIndex == (try handle.link(named: "under0").index))
            let data = ((try inspect(namespaces[0], ["-d", "link", "show", "vx0"]).first?["linkinfo"]
                as? [String: Any])?["info_data"]) as? [String: Any]
            #expect(data?["id"] as? Int == 4242)
            #expect(data?["local"] as? String == "192.0.2.1")
            #expect(data?["link"] as? String == "under0")
            #expect(data?["port"] as? Int == 4789)
            #expect(data?["learning"] as? Bool == false)
            #expect(data?["gbp"] as? Bool == true)
            #expect(data?["ttl"] as? Int == 64)
            #expect(data?["udp_csum"] as? Bool == true)
        }
    }

    @Test("macvlan on a veth, move a link to another namespace by descriptor", .privileged)
    func macvlanAndMove() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("low0", peer: "low1"))
            try handle.addLink(.macvlan("mv0", parent: "low0", mode: .bridge))
            let macvlan = try handle.link(named: "mv0")
            #expect(macvlan.kind == .macvlan)
            #expect(macvlan.macvlanMode == .bridge)
            let data = ((try inspect(namespaces[0], ["-d", "link", "show", "mv0"]).first?["linkinfo"]
                as? [String: Any])?["info_data"]) as? [String: Any]
            #expect(data?["mode"] as? String == "bridge")
            try handle.moveLink("low1", to: namespaces[1], newName: "moved0")
            #expect(try handle.linkIfPresent(named: "low1") == nil)
            let other = try NetlinkHandle(namespace: namespaces[1])
            #expect(try other.link(named: "moved0").kind == .veth)
            #expect(try inspect(namespaces[1], ["link", "show", "moved0"]).count == 1)
        }
    }

    @Test("a 16-byte interface name is refused before any call, with a clear error")
    func longNameRefused() throws {
        let sixteen = String(repeating: "v", count: 16)
        let error = #expect(throws: (any Error).self) { try InterfaceName(sixteen) }
        #expect("\(error!)".contains("16 bytes"))
        #expect(try InterfaceName(String(sixteen.dropLast())).value.utf8.count == 15)
    }
}

@Suite("Idempotent deletes", .serialized)
struct IfPresentTests {
    @Test("deleting what is not there is tolerated by the *IfPresent variants", .privileged)
    func ifPresent() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("i0", peer: "i1"))
            try handle.setLinkUp("i0")
            let address = Address(try IPNetwork(parsing: "10.1.0.1/24"))
            try handle.addAddress(address, device: "i0")
            let route = Route(destination: try IPNetwork(parsing: "10.9.0.0/24"), device: "i0")
            try handle.addRoute(route)
            let entry = Neighbor.permanent(try IPAddress(parsing: "10.1.0.5"), macAddress: try MACAddress(parsing: "02:00:00:00:00:05"))
            try handle.addNeighbor(entry, device: "i0")
            #expect(try handle.deleteNeighborIfPresent(entry, device: "i0"))
            #expect(try !handle.deleteNeighborIfPresent(entry, device: "i0"))
            #expect(try handle.deleteRouteIfPresent(route))
            #expect(try !handle.deleteRouteIfPresent(route))
            #expect(try handle.deleteAddressIfPresent(address, device: "i0"))
            #expect(try !handle.deleteAddressIfPresent(address, device: "i0"))
            #expect(try handle.link(named: "i0").interfaceName == "i0")
            #expect(try handle.deleteLinkIfPresent(named: "i0"))
            #expect(try !handle.deleteLinkIfPresent(named: "i0"))
            #expect(try !handle.deleteAddressIfPresent(address, device: "i0"))
        }
    }
}
