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
}
