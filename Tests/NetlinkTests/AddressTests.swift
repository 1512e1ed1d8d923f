import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Addresses", .serialized)
struct AddressTests {
    @Test("add/replace/delete/list IPv4 and IPv6 with scope, peer and noprefixroute", .privileged)
    func addresses() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("a0", peer: "a1"))
            try handle.setLinkUp("a0")
            try handle.addAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "a0")
            try handle.addAddress(Address(try IPNetwork(parsing: "10.20.0.1/32"), peer: try IPNetwork(parsing: "10.20.0.2/32")), device: "a0")
            try handle.addAddress(Address(try IPNetwork(parsing: "10.30.0.1/24"), flags: .noPrefixRoute), device: "a0")
            try handle.addAddress(Address(try IPNetwork(parsing: "169.254.9.1/16"), scope: .link), device: "a0")
            try handle.addAddress(Address(try IPNetwork(parsing: "2001:db8::1/64"), flags: .noDuplicateAddressDetection), device: "a0")

            let duplicate = #expect(throws: NetlinkError.self) {
                try handle.addAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "a0")
            }
            #expect(duplicate?.isAlreadyExists == true)
            try handle.replaceAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "a0")

            let info = try inspect(namespaces[0], ["addr", "show", "dev", "a0"]).first?["addr_info"] as? [[String: Any]] ?? []
            func entry(_ local: String) -> [String: Any]? { info.first { $0["local"] as? String == local } }
            #expect(entry("10.1.0.1")?["prefixlen"] as? Int == 24)
            #expect(entry("10.20.0.1")?["address"] as? String == "10.20.0.2")
            #expect(entry("10.30.0.1")?["noprefixroute"] as? Bool == true)
            #expect(entry("169.254.9.1")?["scope"] as? String == "link")
            #expect(entry("2001:db8::1")?["prefixlen"] as? Int == 64)
            let routes = try inspect(namespaces[0], ["route", "show", "10.30.0.0/24"])
            #expect(routes.isEmpty)

            let listed = try handle.addresses(device: "a0")
            #expect(listed.contains { $0.network.description == "10.1.0.1/24" })
            #expect(listed.contains { $0.peer?.description == "10.20.0.2/32" && $0.network.address.description == "10.20.0.1" })
            #expect(listed.contains { $0.network.description == "10.30.0.1/24" && $0.flags.contains(.noPrefixRoute) })
            #expect(listed.contains { $0.network.description == "169.254.9.1/16" && $0.scope == .link })
            #expect(try handle.addresses(family: .v6, device: "a0").contains { $0.network.description == "2001:db8::1/64" })
            #expect(try handle.addresses(family: .v4).allSatisfy { $0.network.family == .v4 })

            try handle.deleteAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "a0")
            try handle.deleteAddress(Address(try IPNetwork(parsing: "2001:db8::1/64")), device: "a0")
            let after = try inspect(namespaces[0], ["addr", "show", "dev", "a0"]).first?["addr_info"] as? [[String: Any]] ?? []
            #expect(!after.contains { $0["local"] as? String == "10.1.0.1" })
            #expect(!after.contains { $0["local"] as? String == "2001:db8::1" })
        }
    }
}
