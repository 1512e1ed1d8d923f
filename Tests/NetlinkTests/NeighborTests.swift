import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Neighbours and FDB", .serialized)
struct NeighborTests {
    @Test("permanent ARP/NDP entries, proxy entries, VXLAN FDB entries with a remote destination", .privileged)
    func neighbors() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("n0", peer: "n1"))
            try handle.setLinkUp("n0")
            try handle.addAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "n0")
            let mac = try MACAddress(parsing: "02:00:00:00:00:09")
            try handle.addNeighbor(.permanent(try IPAddress(parsing: "10.1.0.9"), macAddress: mac), device: "n0")
            try handle.addNeighbor(.permanent(try IPAddress(parsing: "2001:db8::9"), macAddress: mac), device: "n0")
            let duplicate = #expect(throws: NetlinkError.self) {
                try handle.addNeighbor(.permanent(try IPAddress(parsing: "10.1.0.9"), macAddress: mac), device: "n0")
            }
            #expect(duplicate?.isAlreadyExists == true)
            let other = try MACAddress(parsing: "02:00:00:00:00:0a")
            try handle.replaceNeighbor(.permanent(try IPAddress(parsing: "10.1.0.9"), macAddress: other), device: "n0")
            try handle.addNeighbor(.proxy(try IPAddress(parsing: "10.1.0.50")), device: "n0")

            let shown = try inspect(namespaces[0], ["neigh", "show", "dev", "n0"])
            let arp = shown.first { $0["dst"] as? String == "10.1.0.9" }
            #expect(arp?["lladdr"] as? String == "02:00:00:00:00:0a")
            #expect((arp?["state"] as? [String])?.contains("PERMANENT") == true)
            #expect(shown.contains { $0["dst"] as? String == "2001:db8::9" })
            let proxies = try inspect(namespaces[0], ["neigh", "show", "proxy"])
            #expect(proxies.contains { $0["dst"] as? String == "10.1.0.50" })

            let listed = try handle.neighbors(device: "n0")
            #expect(listed.contains { $0.address?.description == "10.1.0.9" && $0.macAddress == other && $0.state.contains(.permanent) })
            #expect(listed.contains { $0.family == .ipv6 && $0.address?.description == "2001:db8::9" })
            #expect(try handle.neighbors(family: .ipv4, proxies: true).contains { $0.address?.description == "10.1.0.50" && $0.flags.contains(.proxy) })

            try handle.addLink(.vxlan("vx0", options: VXLANOptions(identifier: 1, localAddress: try IPAddress(parsing: "10.1.0.1"), underlayDevice: "n0")))
            let remote = try MACAddress(parsing: "0a:0b:0c:0d:0e:0f")
            try handle.appendForwardingEntry(.forwardingEntry(remote, destination: try IPAddress(parsing: "10.1.0.2")), device: "vx0")
            try handle.replaceNeighbor(.forwardingEntry(remote, destination: try IPAddress(parsing: "10.1.0.3")), device: "vx0")
            let fdb = try inspect(namespaces[0], ["fdb", "show", "dev", "vx0"], tool: "bridge")
            let entry = fdb.first { $0["mac"] as? String == "0a:0b:0c:0d:0e:0f" && $0["dst"] as? String == "10.1.0.3" }
            #expect(entry != nil)
            #expect((entry?["flags"] as? [String])?.contains("self") == true)
            #expect(entry?["state"] as? String == "permanent")
            let entries = try handle.forwardingEntries(device: "vx0")
            #expect(entries.contains { $0.macAddress == remote && $0.address?.description == "10.1.0.3" && $0.flags.contains(.self) })

            try handle.deleteNeighbor(.forwardingEntry(remote, destination: try IPAddress(parsing: "10.1.0.3")), device: "vx0")
            try handle.deleteNeighbor(.permanent(try IPAddress(parsing: "10.1.0.9"), macAddress: other), device: "n0")
            try handle.deleteNeighbor(.proxy(try IPAddress(parsing: "10.1.0.50")), device: "n0")
            #expect(!(try inspect(namespaces[0], ["fdb", "show", "dev", "vx0"], tool: "bridge")).contains { $0["dst"] as? String == "10.1.0.3" })
            #expect(!(try inspect(namespaces[0], ["neigh", "show", "dev", "n0"])).contains { $0["dst"] as? String == "10.1.0.9" })
            #expect(!(try inspect(namespaces[0], ["neigh", "show", "proxy"])).contains { $0["dst"] as? String == "10.1.0.50" })
        }
    }
}
