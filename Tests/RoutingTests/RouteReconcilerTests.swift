import Foundation
import Namespaces
import NetPrimitives
import Netlink
import TestSupport
import Testing

@testable import Routing

@Suite("Route reconciler: planning")
struct RouteReconcilerPlanTests {
    let reconciler = RouteReconciler(protocolTag: .flannelOverlay)

    func route(_ destination: String, via gateway: String, device: String = "eth0", tag: Route.ProtocolTag = .flannelOverlay) -> Route {
        Route(destination: IPNetwork(destination)!, gateway: IPAddress(gateway)!, device: try! InterfaceName(device), protocolTag: tag)
    }

    @Test("missing routes are added, tagged with the owner's protocol")
    func additions() {
        let plan = reconciler.plan(desired: [route("10.244.2.0/24", via: "192.168.50.12", tag: .boot)], current: [])
        #expect(plan.additions.count == 1)
        #expect(plan.additions.first?.protocolTag == .flannelOverlay)
        #expect(plan.replacements.isEmpty && plan.deletions.isEmpty)
    }

    @Test("routes of other owners are never deleted or replaced")
    func foreignRoutesUntouched() {
        let current = [
            route("10.244.2.0/24", via: "192.168.50.99", tag: .boot),
            route("10.0.0.0/8", via: "192.168.50.1", tag: .static),
            route("10.244.9.0/24", via: "192.168.50.1", tag: Route.ProtocolTag(186)),
        ]
        let plan = reconciler.plan(desired: [], current: current)
        #expect(plan.isEmpty)
    }

    @Test("a route read back from the kernel (scope, device index set) matches the desired one")
    func kernelRouteMatches() {
        var kernel = route("10.244.2.0/24", via: "192.168.50.12")
        kernel.scope = .universe
        kernel.nextHops[0].deviceIndex = 7
        let plan = reconciler.plan(desired: [route("10.244.2.0/24", via: "192.168.50.12")], current: [kernel])
        #expect(plan.isEmpty, "\(plan)")
    }

    @Test("a changed gateway, device or onlink flag is replaced")
    func replacements() {
        let current = [route("10.244.2.0/24", via: "192.168.50.12"), route("10.244.3.0/24", via: "10.244.3.0", device: "flannel.1")]
        var onlink = route("10.244.3.0/24", via: "10.244.3.0", device: "flannel.1")
        onlink.nextHops[0].isOnLink = true
        let plan = reconciler.plan(desired: [route("10.244.2.0/24", via: "192.168.50.13"), onlink], current: current)
        #expect(plan.replacements.count == 2)
        #expect(plan.additions.isEmpty && plan.deletions.isEmpty)
    }

    @Test("owned routes no longer desired, and duplicates, are deleted with tag and destination only")
    func deletions() {
        let current = [
            route("10.244.2.0/24", via: "192.168.50.12"), route("10.244.4.0/24", via: "192.168.50.14"),
            route("10.244.4.0/24", via: "192.168.50.15"),
        ]
        let plan = reconciler.plan(desired: [route("10.244.4.0/24", via: "192.168.50.14")], current: current)
        #expect(plan.deletions.map(\.destination.description).sorted() == ["10.244.2.0/24", "10.244.4.0/24"])
        #expect(plan.deletions.allSatisfy { $0.protocolTag == .flannelOverlay && $0.nextHops.isEmpty })
        #expect(plan.additions.isEmpty && plan.replacements.isEmpty)
    }

    @Test("the same destination with another metric is another route; host bits are ignored")
    func keys() {
        var metric = route("10.244.2.0/24", via: "192.168.50.12")
        metric.metric = 100
        let plan = reconciler.plan(desired: [route("10.244.2.7/24", via: "192.168.50.12"), metric],
                                   current: [route("10.244.2.0/24", via: "192.168.50.12")])
        #expect(plan.additions.count == 1 && plan.additions.first?.metric == 100)
        #expect(plan.deletions.isEmpty && plan.replacements.isEmpty)
    }

    @Test("another table is another owner")
    func tables() {
        var other = route("10.244.2.0/24", via: "192.168.50.12")
        other.table = Route.Table(100)
        #expect(reconciler.plan(desired: [], current: [other]).isEmpty)
    }

    @Test("batch: deletions first, then replace for both additions and replacements")
    func batchOrder() {
        let plan = RoutePlan(additions: [route("10.244.2.0/24", via: "192.168.50.12")],
                             replacements: [route("10.244.3.0/24", via: "192.168.50.13")],
                             deletions: [route("10.244.4.0/24", via: "192.168.50.14")])
        #expect(plan.batch().count == 3)
        #expect(plan.count == 3)
    }
}

@Suite("Host gateway backend: planning")
struct HostGatewayPlanTests {
    @Test("one route per remote subnet via the node address; own subnet, mixed families and duplicates skipped")
    func routes() {
        let backend = HostGateway(underlayDevice: "eth0", localSubnet: (try! IPNetwork(parsing: "10.244.1.0/24")))
        let routes = backend.routes(for: [
            HostGatewayPeer(subnet: (try! IPNetwork(parsing: "10.244.1.0/24")), nodeAddress: (try! IPAddress(parsing: "192.168.50.11"))),
            HostGatewayPeer(subnet: (try! IPNetwork(parsing: "10.244.2.0/24")), nodeAddress: (try! IPAddress(parsing: "192.168.50.12"))),
            HostGatewayPeer(subnet: (try! IPNetwork(parsing: "10.244.2.0/24")), nodeAddress: (try! IPAddress(parsing: "192.168.50.99"))),
            HostGatewayPeer(subnet: (try! IPNetwork(parsing: "10.244.3.0/24")), nodeAddress: (try! IPAddress(parsing: "fd00::3"))),
        ])
        #expect(routes.count == 1)
        #expect(routes.first?.destination == (try! IPNetwork(parsing: "10.244.2.0/24")))
        #expect(routes.first?.gateway == (try! IPAddress(parsing: "192.168.50.12")))
        #expect(routes.first?.nextHops.first?.device == "eth0")
        #expect(routes.first?.protocolTag == .flannelOverlay)
    }

    @Test("IPv6: routes via the peers' IPv6 underlay addresses; a backend of one family ignores the other's peers")
    func ipv6Routes() throws {
        let peers = [
            HostGatewayPeer(subnet: try IPNetwork(parsing: "10.244.2.0/24"), nodeAddress: try IPAddress(parsing: "192.168.50.12")),
            HostGatewayPeer(subnet: try IPNetwork(parsing: "fd00:10:244:1::/64"), nodeAddress: try IPAddress(parsing: "fd77::11")),
            HostGatewayPeer(subnet: try IPNetwork(parsing: "fd00:10:244:2::/64"), nodeAddress: try IPAddress(parsing: "fd77::12")),
        ]
        let v6 = HostGateway(underlayDevice: "eth0", localSubnet: try IPNetwork(parsing: "fd00:10:244:1::/64"), family: .v6)
        let routes = v6.routes(for: peers)
        #expect(routes.map(\.destination.description) == ["fd00:10:244:2::/64"])
        #expect(routes.first?.gateway == IPAddress("fd77::12") && routes.first?.protocolTag == .flannelOverlay)
        let v4 = HostGateway(underlayDevice: "eth0", localSubnet: try IPNetwork(parsing: "10.244.1.0/24"), family: .v4)
        #expect(v4.routes(for: peers).map(\.destination.description) == ["10.244.2.0/24"])
        // Without a family: each peer in its own.
        #expect(HostGateway(underlayDevice: "eth0").routes(for: peers).count == 3)
    }

    @Test("an IPv6 route read back with the kernel's default metric 1024 is the desired route without a metric")
    func ipv6DefaultMetric() throws {
        let reconciler = RouteReconciler(protocolTag: .flannelOverlay)
        let desired = Route(destination: try IPNetwork(parsing: "fd00:10:244:2::/64"), gateway: try IPAddress(parsing: "fd77::12"), device: "eth0")
        var kernel = reconciler.owned(desired)
        kernel.metric = 1024
        #expect(reconciler.plan(desired: [desired], current: [kernel]).isEmpty)
        // Another metric stays another route; IPv4 has no such default.
        kernel.metric = 100
        #expect(reconciler.plan(desired: [desired], current: [kernel]).count == 2)
        var v4 = reconciler.owned(Route(destination: try IPNetwork(parsing: "10.244.2.0/24"), gateway: try IPAddress(parsing: "192.168.50.12"), device: "eth0"))
        let wanted = v4
        v4.metric = 1024
        #expect(reconciler.plan(desired: [wanted], current: [v4]).count == 2)
    }
}

@Suite("Route reconciler and host-gw in a namespace", .serialized)
struct RouteReconcilerKernelTests {
    static func ipJSON(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> [[String: Any]] {
        let output = try namespace.runProcess("/usr/sbin/ip", arguments: ["-j"] + arguments, timeoutMilliseconds: 5000)
        let text = output.standardOutputText.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    @Test("converges proto 91 routes idempotently and leaves other routes alone", .privileged)
    func converge() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("eth0", peer: "eth0", peerNamespace: namespaces[1]))
            try handle.addAddress(Address((try! IPNetwork(parsing: "192.168.50.11/24"))), device: "eth0")
            try handle.setLinkUp("eth0")
            let foreign = Route(destination: (try! IPNetwork(parsing: "10.99.0.0/16")), gateway: (try! IPAddress(parsing: "192.168.50.1")), device: "eth0")
            try handle.addRoute(foreign)
            let backend = HostGateway(underlayDevice: "eth0", localSubnet: (try! IPNetwork(parsing: "10.244.1.0/24")))
            var peers = (2...4).map {
                HostGatewayPeer(subnet: (try! IPNetwork(parsing: "10.244.\($0).0/24")), nodeAddress: (try! IPAddress(parsing: "192.168.50.1\($0)")))
            }
            let first = try backend.reconcile(peers: peers, handle: handle)
            #expect(first.succeeded, "\(first.failures)")
            #expect(first.plan.additions.count == 3)
            let again = try backend.reconcile(peers: peers, handle: handle)
            #expect(again.plan.isEmpty, "\(again.plan)")

            let shown = try Self.ipJSON(namespaces[0], ["route", "show", "proto", "91"])
            #expect(Set(shown.compactMap { $0["dst"] as? String }) == ["10.244.2.0/24", "10.244.3.0/24", "10.244.4.0/24"])
            #expect(shown.first { $0["dst"] as? String == "10.244.3.0/24" }?["gateway"] as? String == "192.168.50.13")

            peers.removeFirst()
            peers[0].nodeAddress = (try! IPAddress(parsing: "192.168.50.33"))
            let changed = try backend.reconcile(peers: peers, handle: handle)
            #expect(changed.succeeded, "\(changed.failures)")
            #expect(changed.plan.deletions.count == 1 && changed.plan.replacements.count == 1)
            let after = try Self.ipJSON(namespaces[0], ["route", "show", "proto", "91"])
            #expect(Set(after.compactMap { $0["dst"] as? String }) == ["10.244.3.0/24", "10.244.4.0/24"])
            #expect(after.first { $0["dst"] as? String == "10.244.3.0/24" }?["gateway"] as? String == "192.168.50.33")
            let kept = try Self.ipJSON(namespaces[0], ["route", "show", "10.99.0.0/16"])
            #expect(kept.count == 1, "the route of another owner must survive")

            let emptied = try backend.reconcile(peers: [], handle: handle)
            #expect(emptied.plan.deletions.count == 2)
            #expect(try Self.ipJSON(namespaces[0], ["route", "show", "proto", "91"]).isEmpty)
            #expect(try Self.ipJSON(namespaces[0], ["route", "show", "10.99.0.0/16"]).count == 1)
        }
    }

    /// Dual-stack host-gw: an IPv4 and an IPv6 backend share the tag; each converges its own
    /// routes idempotently (the kernel's IPv6 metric 1024 is no change), and one emptied never
    /// removes the other's routes.
    @Test("dual-stack host-gw: one backend per family, IPv6 routes via the IPv6 underlay, neither removes the other's", .privileged)
    func dualStack() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("eth0", peer: "eth0", peerNamespace: namespaces[1]))
            try handle.addAddress(Address(try IPNetwork(parsing: "192.168.50.11/24")), device: "eth0")
            try handle.addAddress(Address(try IPNetwork(parsing: "fd77::11/64"), flags: .noDuplicateAddressDetection), device: "eth0")
            try handle.setLinkUp("eth0")
            let v4 = HostGateway(underlayDevice: "eth0", localSubnet: try IPNetwork(parsing: "10.244.1.0/24"), family: .v4)
            let v6 = HostGateway(underlayDevice: "eth0", localSubnet: try IPNetwork(parsing: "fd00:10:244:1::/64"), family: .v6)
            let peers = try (2...3).flatMap { index in
                [HostGatewayPeer(subnet: try IPNetwork(parsing: "10.244.\(index).0/24"), nodeAddress: try IPAddress(parsing: "192.168.50.1\(index)")),
                 HostGatewayPeer(subnet: try IPNetwork(parsing: "fd00:10:244:\(index)::/64"), nodeAddress: try IPAddress(parsing: "fd77::1\(index)"))]
            }
            for backend in [v4, v6] {
                let outcome = try backend.reconcile(peers: peers, handle: handle)
                #expect(outcome.succeeded && outcome.plan.additions.count == 2, "\(outcome.failures) \(outcome.plan)")
            }
            for backend in [v4, v6] {
                let again = try backend.reconcile(peers: peers, handle: handle)
                #expect(again.plan.isEmpty, "\(backend.family!): \(again.plan)")
            }
            let shown = try Self.ipJSON(namespaces[0], ["-6", "route", "show", "proto", "91"])
            #expect(Set(shown.compactMap { $0["dst"] as? String }) == ["fd00:10:244:2::/64", "fd00:10:244:3::/64"])
            #expect(shown.first { $0["dst"] as? String == "fd00:10:244:3::/64" }?["gateway"] as? String == "fd77::13")

            // The IPv6 backend without peers removes its routes only; the IPv4 ones stay, and back.
            #expect(try v6.reconcile(peers: [], handle: handle).plan.deletions.count == 2)
            #expect(try Self.ipJSON(namespaces[0], ["-6", "route", "show", "proto", "91"]).isEmpty)
            #expect(try Self.ipJSON(namespaces[0], ["-4", "route", "show", "proto", "91"]).count == 2)
            #expect(try v4.reconcile(peers: [], handle: handle).plan.deletions.count == 2)
            #expect(try v6.reconcile(peers: peers, handle: handle).plan.additions.count == 2)
            #expect(try v4.reconcile(peers: [], handle: handle).plan.isEmpty)
            #expect(try Self.ipJSON(namespaces[0], ["-6", "route", "show", "proto", "91"]).count == 2)
        }
    }
}
