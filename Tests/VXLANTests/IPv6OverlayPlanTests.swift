import NetPrimitives
import Netlink
import Routing
import Testing

@testable import VXLAN

/// flannel's IPv6 VTEP (`flannel-v6.<VNI>`) and an overlay reconciler per family.
@Suite struct IPv6OverlayPlanTests {
    @Test func ipv6VTEPIsFlannelsV6DeviceWithTheLargerOverhead() throws {
        let vtep = try VTEPDevice(
            nodeName: "node-0", subnet: "fd00:10:244:1::/64", underlayDevice: "eth0", underlayAddress: "fd77::10", underlayMTU: 1500)
        #expect(vtep.name.value == "flannel-v6.1" && vtep.mtu == 1430 && vtep.address == IPAddress("fd00:10:244:1::"))
        let v4 = try VTEPDevice(nodeName: "node-0", subnet: "10.244.1.0/24", underlayDevice: "eth0", underlayAddress: "192.168.77.10", underlayMTU: 1500)
        #expect(v4.name.value == "flannel.1" && v4.mtu == 1450)
        #expect(vtep.derivedMACAddress != v4.derivedMACAddress, "two VTEPs of one node need two MACs")
        #expect(v4.derivedMACAddress == VTEPDevice.derivedMACAddress(nodeName: "node-0", identifier: 1, family: .v4))
        // One family over the same family only.
        #expect(throws: VXLANError.self) {
            try VTEPDevice(nodeName: "n", subnet: "fd00:10:244:1::/64", underlayDevice: "eth0", underlayAddress: "192.168.77.10", underlayMTU: 1500)
        }
        // IPv6 needs room for 1280 inside.
        #expect(throws: VXLANError.self) {
            try VTEPDevice(nodeName: "n", subnet: "fd00:10:244:1::/64", underlayDevice: "eth0", underlayAddress: "fd77::10", underlayMTU: 1340)
        }
    }

    @Test func anIPv6ReconcilerPlansOnlyIPv6Peers() throws {
        let overlay = OverlayReconciler(device: "flannel-v6.1", localSubnet: "fd00:10:244:1::/64", family: .v6)
        let mac = try MACAddress(parsing: "02:00:00:00:00:02")
        let peers = [
            OverlayPeer(subnet: "fd00:10:244:2::/64", underlayAddress: "fd77::11", vtepMACAddress: mac),
            OverlayPeer(subnet: "10.244.3.0/24", underlayAddress: "192.168.77.12", vtepMACAddress: try MACAddress(parsing: "02:00:00:00:00:03")),
            OverlayPeer(subnet: "fd00:10:244:1::/64", underlayAddress: "fd77::10", vtepMACAddress: mac),
        ]
        let plan = overlay.plan(peers: peers, current: OverlayState())
        #expect(plan.routes.additions.map(\.destination) == [IPNetwork("fd00:10:244:2::/64")])
        #expect(plan.routes.additions.first?.nextHops.first?.gateway == IPAddress("fd00:10:244:2::"))
        #expect(plan.neighborUpdates == [.permanent("fd00:10:244:2::", macAddress: mac)])
        #expect(plan.forwardingUpdates == [.forwardingEntry(mac, destination: "fd77::11")])
        // The IPv4 reconciler of the same node ignores the IPv6 peer.
        let v4 = OverlayReconciler(device: "flannel.1", localSubnet: "10.244.1.0/24").plan(peers: peers, current: OverlayState())
        #expect(v4.routes.additions.map(\.destination) == [IPNetwork("10.244.3.0/24")])
    }
}
