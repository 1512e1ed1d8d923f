import Netlink
import NetPrimitives
import Testing
import VXLAN
import Weave

/// The flood-list planner (pure): one all-zeros entry per remote VTEP, stale ones and the
/// learned entries of departed remotes removed, nothing planned when it already holds.
struct FloodListTests {
    let reconciler = FloodListReconciler(device: "vxlan-6784")
    let a: IPAddress = "192.168.77.11"
    let b: IPAddress = "192.168.77.12"
    let c: IPAddress = "192.168.77.13"

    func flood(_ address: IPAddress) -> Neighbor {
        Neighbor(family: .bridge, address: address, macAddress: .zero, state: .permanent, flags: .self)
    }

    func learned(_ mac: MACAddress, _ address: IPAddress) -> Neighbor {
        Neighbor(family: .bridge, address: address, macAddress: mac, state: .reachable, flags: .self)
    }

    @Test func emptyListGetsEveryRemote() {
        let plan = reconciler.plan(remotes: [b, a], current: [])
        #expect(plan.additions == [a, b])
        #expect(plan.deletions.isEmpty && plan.staleLearned.isEmpty)
    }

    @Test func convergedListPlansNothing() {
        #expect(reconciler.plan(remotes: [a, b], current: [flood(a), flood(b)]).isEmpty)
    }

    @Test func departedRemoteLosesItsFloodAndLearnedEntries() throws {
        let mac = try MACAddress(parsing: "02:42:0a:20:00:05")
        let plan = reconciler.plan(remotes: [a, c], current: [flood(a), flood(b), learned(mac, b), learned(mac, a)])
        #expect(plan.additions == [c])
        #expect(plan.deletions.map(\.address) == [b])
        #expect(plan.staleLearned.map(\.address) == [b] && plan.staleLearned.first?.macAddress == mac)
    }

    @Test func hostInterfaceNamesAreWeavesAndStable() {
        let name = WeaveNames.hostInterface(containerID: "c1", interfaceName: "eth0")
        #expect(name.value.hasPrefix("vethwepl") && name.value.utf8.count == 15)
        #expect(name == WeaveNames.hostInterface(containerID: "c1", interfaceName: "eth0"))
        #expect(name != WeaveNames.hostInterface(containerID: "c2", interfaceName: "eth0"))
    }

    @Test func bridgedPortRejectsBadSettings() {
        #expect(throws: VXLANError.self) {
            try BridgedVXLANPort(name: "vx", identifier: 1 << 24, port: 6784, bridge: "weave", underlayDevice: "eth0",
                                 underlayAddress: a, underlayMTU: 1500)
        }
        #expect(throws: VXLANError.self) {
            try BridgedVXLANPort(name: "vx", identifier: 1, port: 6784, bridge: "weave", underlayDevice: "eth0",
                                 underlayAddress: a, underlayMTU: 100)
        }
    }
}
