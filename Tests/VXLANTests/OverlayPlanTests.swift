import NetPrimitives
import Netlink
import Routing
import Testing

@testable import VXLAN

@Suite("Overlay reconciler: planning")
struct OverlayPlanTests {
    static func peer(_ index: Int, underlay: String? = nil) -> OverlayPeer {
        OverlayPeer(subnet: try! IPNetwork(parsing: "10.244.\(index).0/24"),
                    underlayAddress: try! IPAddress(parsing: underlay ?? "192.168.50.1\(index)"),
                    vtepMACAddress: try! MACAddress(parsing: "02:00:00:00:00:0\(index)"))
    }

    let overlay = OverlayReconciler(device: "flannel.1", localSubnet: try! IPNetwork(parsing: "10.244.1.0/24"))

    /// What the kernel shows after applying `plan` on an empty node.
    static func state(after plan: OverlayPlan) -> OverlayState {
        OverlayState(routes: plan.routes.additions, neighbors: plan.neighborUpdates, forwardingEntries: plan.forwardingUpdates)
    }

    @Test("each remote node gets one permanent neighbour, one FDB entry and one onlink route; the own subnet none")
    func fromScratch() {
        let plan = overlay.plan(peers: [Self.peer(1), Self.peer(2), Self.peer(3)], current: OverlayState())
        #expect(plan.routes.additions.count == 2)
        let route = plan.routes.additions.first { $0.destination.description == "10.244.2.0/24" }
        #expect(route?.gateway?.description == "10.244.2.0")
        #expect(route?.nextHops.first?.isOnLink == true)
        #expect(route?.nextHops.first?.device == "flannel.1")
        #expect(route?.protocolTag == .flannelOverlay)
        #expect(plan.neighborUpdates == [.permanent(try! IPAddress(parsing: "10.244.2.0"), macAddress: Self.peer(2).vtepMACAddress),
                                         .permanent(try! IPAddress(parsing: "10.244.3.0"), macAddress: Self.peer(3).vtepMACAddress)])
        #expect(plan.forwardingUpdates.map { $0.address?.description } == ["192.168.50.12", "192.168.50.13"])
        #expect(plan.forwardingUpdates.allSatisfy { $0.flags == .self && $0.state == .permanent })
        #expect(plan.neighborDeletions.isEmpty && plan.forwardingDeletions.isEmpty)
        #expect(overlay.plan(peers: [Self.peer(2), Self.peer(3)], current: Self.state(after: plan)).isEmpty)
    }

    @Test("a node that leaves loses its route, neighbour and FDB entry")
    func nodeLeaves() {
        let full = overlay.plan(peers: [Self.peer(2), Self.peer(3)], current: OverlayState())
        let plan = overlay.plan(peers: [Self.peer(2)], current: Self.state(after: full))
        #expect(plan.routes.deletions.map(\.destination.description) == ["10.244.3.0/24"])
        #expect(plan.neighborDeletions.map { $0.address?.description } == ["10.244.3.0"])
        #expect(plan.forwardingDeletions.map { $0.macAddress } == [Self.peer(3).vtepMACAddress])
        #expect(plan.neighborUpdates.isEmpty && plan.forwardingUpdates.isEmpty && plan.routes.additions.isEmpty)
    }

    @Test("a node that comes back with a new MAC and address gets its entries replaced, the stale FDB entry removed")
    func nodeChanges() {
        let full = overlay.plan(peers: [Self.peer(2)], current: OverlayState())
        var moved = Self.peer(2, underlay: "192.168.50.22")
        moved.vtepMACAddress = try! MACAddress(parsing: "02:00:00:00:00:22")
        let plan = overlay.plan(peers: [moved], current: Self.state(after: full))
        #expect(plan.neighborUpdates.map { $0.macAddress } == [moved.vtepMACAddress])
        #expect(plan.forwardingDeletions.map { $0.macAddress } == [Self.peer(2).vtepMACAddress])
        #expect(plan.forwardingUpdates.map { $0.address?.description } == ["192.168.50.22"])
        #expect(plan.routes.isEmpty)
    }

    @Test("non-permanent (learned) neighbours are left alone; stale permanent ones go")
    func neighbourOwnership() {
        var learned = Neighbor.permanent(try! IPAddress(parsing: "10.244.9.0"), macAddress: .zero)
        learned.state = .reachable
        let stale = Neighbor.permanent(try! IPAddress(parsing: "10.244.8.0"), macAddress: .zero)
        let plan = overlay.plan(peers: [], current: OverlayState(neighbors: [learned, stale]))
        #expect(plan.neighborDeletions.map { $0.address?.description } == ["10.244.8.0"])
    }

    @Test("DirectRouting: peers on the underlay subnet get a direct route and no tunnel entries")
    func directRouting() {
        let direct = OverlayReconciler(device: "flannel.1", localSubnet: try! IPNetwork(parsing: "10.244.1.0/24"), directRouting: true,
                                       underlayDevice: "eth0", underlayNetwork: try! IPNetwork(parsing: "192.168.50.11/24"))
        let plan = direct.plan(peers: [Self.peer(2), Self.peer(3, underlay: "172.16.0.13")], current: OverlayState())
        let routes = Dictionary(uniqueKeysWithValues: plan.routes.additions.map { ($0.destination.description, $0) })
        #expect(routes["10.244.2.0/24"]?.gateway?.description == "192.168.50.12")
        #expect(routes["10.244.2.0/24"]?.nextHops.first?.device == "eth0")
        #expect(routes["10.244.2.0/24"]?.nextHops.first?.isOnLink == false)
        #expect(routes["10.244.3.0/24"]?.nextHops.first?.device == "flannel.1")
        #expect(plan.neighborUpdates.count == 1 && plan.forwardingUpdates.count == 1)
        #expect(plan.forwardingUpdates.first?.address?.description == "172.16.0.13")
    }

    @Test("the batch puts deletions before updates and routes last")
    func batch() {
        let plan = overlay.plan(peers: [Self.peer(2), Self.peer(3)], current: OverlayState())
        #expect(plan.batch(device: "flannel.1").count == 6)
    }

    @Test("VTEP: flannel naming, MTU − 50, network address, stable MAC; bad values rejected")
    func vtep() throws {
        let vtep = try VTEPDevice(nodeName: "node-1", subnet: try IPNetwork(parsing: "10.244.1.0/24"), underlayDevice: "eth0",
                                  underlayAddress: try IPAddress(parsing: "192.168.50.11"), underlayMTU: 1500)
        #expect(vtep.name == "flannel.1")
        #expect(vtep.mtu == 1450)
        #expect(vtep.address.description == "10.244.1.0")
        let again = try VTEPDevice(nodeName: "node-1", subnet: try IPNetwork(parsing: "10.244.7.0/24"), underlayDevice: "eth1",
                                   underlayAddress: try IPAddress(parsing: "192.168.50.99"), underlayMTU: 9000)
        #expect(vtep.derivedMACAddress == again.derivedMACAddress)
        #expect(vtep.derivedMACAddress.isLocallyAdministered && !vtep.derivedMACAddress.isMulticast)
        #expect(throws: VXLANError.self) {
            try VTEPDevice(identifier: 1 << 24, nodeName: "n", subnet: try IPNetwork(parsing: "10.244.1.0/24"), underlayDevice: "eth0",
                           underlayAddress: try IPAddress(parsing: "192.168.50.11"), underlayMTU: 1500)
        }
        #expect(throws: VXLANError.self) {
            try VTEPDevice(nodeName: "n", subnet: try IPNetwork(parsing: "10.244.1.0/24"), underlayDevice: "eth0",
                           underlayAddress: try IPAddress(parsing: "192.168.50.11"), underlayMTU: 100)
        }
    }
}
