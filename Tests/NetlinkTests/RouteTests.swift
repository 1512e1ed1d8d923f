import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Routes", .serialized)
struct RouteTests {
    static let flannel = Route.ProtocolTag(91)

    /// Two veth pairs with addresses, up, in one namespace.
    static func prepare(_ handle: NetlinkHandle) throws {
        try handle.addLink(.veth("r0", peer: "r1"))
        try handle.addLink(.veth("r2", peer: "r3"))
        for name: InterfaceName in ["r0", "r1", "r2", "r3"] { try handle.setLinkUp(name) }
        try handle.addAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "r0")
        try handle.addAddress(Address(try IPNetwork(parsing: "10.1.1.1/24")), device: "r2")
        try handle.addAddress(Address(try IPNetwork(parsing: "2001:db8::1/64"), flags: .noDuplicateAddressDetection), device: "r0")
    }

    @Test("add/replace/delete/list routes with every attribute", .privileged)
    func routes() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try Self.prepare(handle)
            let gateway = try IPAddress(parsing: "10.1.0.2")
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.2.0.0/24"), gateway: gateway, device: "r0",
                                      protocolTag: Self.flannel, metric: 100))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.3.0.0/24"), gateway: try IPAddress(parsing: "192.0.2.9"),
                                      device: "r0", isOnLink: true, protocolTag: Self.flannel))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.4.0.0/24"), kind: .blackhole, protocolTag: Route.ProtocolTag(93)))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.5.0.0/24"), kind: .unreachable))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.6.0.0/24"), device: "r0", table: Route.Table(100)))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.7.0.0/24"), device: "r0", scope: .link,
                                      source: try IPAddress(parsing: "10.1.0.1")))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.8.0.0/24"), gateway: gateway, device: "r0", mtu: 1400, advertisedMSS: 1360))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.9.0.0/24"), protocolTag: Self.flannel, nextHops: [
                Route.NextHop(gateway: gateway, device: "r0"),
                Route.NextHop(gateway: try IPAddress(parsing: "10.1.1.2"), device: "r2", weight: 2),
            ]))
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "2001:db8:1::/64"), gateway: try IPAddress(parsing: "2001:db8::2"), device: "r0"))

            let shown = try inspect(namespaces[0], ["route", "show"])
            func route(_ dst: String) -> [String: Any]? { shown.first { $0["dst"] as? String == dst } }
            #expect(route("10.2.0.0/24")?["gateway"] as? String == "10.1.0.2")
            #expect(route("10.2.0.0/24")?["dev"] as? String == "r0")
            #expect(route("10.2.0.0/24")?["metric"] as? Int == 100)
            #expect(route("10.2.0.0/24")?["protocol"] as? String == "91")
            #expect((route("10.3.0.0/24")?["flags"] as? [String])?.contains("onlink") == true)
            #expect(route("10.4.0.0/24")?["type"] as? String == "blackhole")
            #expect(route("10.5.0.0/24")?["type"] as? String == "unreachable")
            #expect(route("10.7.0.0/24")?["prefsrc"] as? String == "10.1.0.1")
            #expect(route("10.7.0.0/24")?["scope"] as? String == "link")
            let metrics = route("10.8.0.0/24")?["metrics"] as? [[String: Any]]
            #expect(metrics?.contains { $0["mtu"] as? Int == 1400 } == true)
            #expect(metrics?.contains { $0["advmss"] as? Int == 1360 } == true)
            let hops = route("10.9.0.0/24")?["nexthops"] as? [[String: Any]] ?? []
            #expect(hops.count == 2)
            #expect(hops.contains { $0["gateway"] as? String == "10.1.1.2" && $0["weight"] as? Int == 2 })
            #expect(try inspect(namespaces[0], ["route", "show", "table", "100"]).first?["dst"] as? String == "10.6.0.0/24")
            #expect(try inspect(namespaces[0], ["-6", "route", "show", "2001:db8:1::/64"]).first?["gateway"] as? String == "2001:db8::2")

            let tagged = try handle.routes(protocolTag: Self.flannel)
            #expect(Set(tagged.map(\.destination.description)) == ["10.2.0.0/24", "10.3.0.0/24", "10.9.0.0/24"])
            let multipath = try #require(tagged.first { $0.destination.description == "10.9.0.0/24" })
            #expect(multipath.nextHops.map(\.device) == ["r0", "r2"])
            #expect(multipath.nextHops.map(\.weight) == [1, 2])
            #expect(tagged.first { $0.destination.description == "10.3.0.0/24" }?.nextHops.first?.isOnLink == true)
            #expect(try handle.routes(table: Route.Table(100)).map(\.destination.description) == ["10.6.0.0/24"])
            #expect(try handle.routes(family: .v6).contains { $0.destination.description == "2001:db8:1::/64" })
            let withMetrics = try handle.routes().first { $0.destination.description == "10.8.0.0/24" }
            #expect(withMetrics?.mtu == 1400 && withMetrics?.advertisedMSS == 1360)
            #expect(try handle.routes().first { $0.destination.description == "10.4.0.0/24" }?.kind == .blackhole)

            let duplicate = #expect(throws: NetlinkError.self) {
                try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.2.0.0/24"), gateway: gateway, device: "r0",
                                          protocolTag: Self.flannel, metric: 100))
            }
            #expect(duplicate?.isAlreadyExists == true)
            try handle.replaceRoute(Route(destination: try IPNetwork(parsing: "10.2.0.0/24"), gateway: try IPAddress(parsing: "10.1.1.2"),
                                          device: "r2", protocolTag: Self.flannel, metric: 100))
            #expect(try inspect(namespaces[0], ["route", "show", "10.2.0.0/24"]).first?["gateway"] as? String == "10.1.1.2")

            for route in try handle.routes(protocolTag: Self.flannel) { try handle.deleteRoute(route) }
            try handle.deleteRoute(Route(destination: try IPNetwork(parsing: "10.4.0.0/24"), kind: .blackhole, protocolTag: Route.ProtocolTag(93)))
            #expect(try handle.routes(protocolTag: Self.flannel).isEmpty)
            #expect(try inspect(namespaces[0], ["route", "show", "proto", "91"]).isEmpty)
            #expect(try inspect(namespaces[0], ["route", "show", "10.4.0.0/24"]).isEmpty)
        }
    }

    @Test("a route via an unreachable gateway fails with the kernel's extended ACK text", .privileged)
    func invalidGateway() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try Self.prepare(handle)
            let error = #expect(throws: NetlinkError.self) {
                try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.50.0.0/24"), gateway: try IPAddress(parsing: "172.16.99.1")))
            }
            #expect(error?.kernelMessage == "Nexthop has invalid gateway")
            #expect(error?.errno == ENETUNREACH)
            #expect(error?.operation.hasPrefix("ip route add 10.50.0.0/24 via 172.16.99.1") == true)
            #expect(error?.description.contains("Nexthop has invalid gateway") == true)
        }
    }
}
