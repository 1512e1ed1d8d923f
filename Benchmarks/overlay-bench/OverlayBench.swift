// overlay-bench: how long the flannel overlay reconciler and host-gw take for N remote nodes,
// inside a throwaway network namespace (never the machine's own). Run by hand as root:
//   swift run -c release --scratch-path .build-fagent overlay-bench [N=1000]
import ArgumentParser
import Namespaces
import NetPrimitives
import Netlink
import Routing
import VXLAN

#if canImport(Glibc)
import Glibc
#endif

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = (ContinuousClock.now - start).components
    return Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func format(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return "\(rounded)"
}

struct Options: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "overlay-bench")

    @Argument(help: "Remote nodes (1...60000).") var count = 1000

    func validate() throws {
        guard (1...60000).contains(count) else { throw ValidationError("N must be 1...60000, got \(count)") }
    }
}

@main
struct OverlayBench {
    static func main() throws {
        let count = Options.parseOrExit().count
        let name = "swcni-bench-overlay-\(getpid())"
        let namespace = try NetworkNamespace.create(name: name)
        defer { try? NetworkNamespace.delete(name: name) }
        let handle = try NetlinkHandle(namespace: namespace)
        try handle.addLink(.veth("eth0", peer: "eth0p"))
        try handle.addAddress(Address(try IPNetwork(parsing: "172.16.0.1/12")), device: "eth0")
        try handle.setLinkUp("eth0")
        try handle.setLinkUp("eth0p")

        let peers = (0..<count).map { index in
            OverlayPeer(
                subnet: try! IPNetwork(parsing: "10.\((index + 1) / 256).\((index + 1) % 256).0/24"),
                underlayAddress: IPAddress.v4(IPv4Address(UInt32(0xAC10_0000) + UInt32(index + 2))),
                vtepMACAddress: MACAddress.derived(from: Array("peer-\(index)".utf8)))
        }
        let vtep = try VTEPDevice(nodeName: "bench", subnet: try IPNetwork(parsing: "10.255.255.0/24"), underlayDevice: "eth0",
                                  underlayAddress: try IPAddress(parsing: "172.16.0.1"), underlayMTU: 1500)
        _ = try vtep.ensure(handle: handle)
        let overlay = OverlayReconciler(device: vtep.name, localSubnet: vtep.subnet)

        let plans = (0..<5).map { _ in milliseconds { _ = overlay.plan(peers: peers, current: OverlayState()) } }
        var first: OverlayReconciliation?
        let apply = try milliseconds { first = try overlay.reconcile(peers: peers, handle: handle) }
        guard let first, first.succeeded else { fatalError("refused: \(first?.failures.prefix(3) ?? [])") }
        let noops = try (0..<5).map { _ in
            try milliseconds {
                let again = try overlay.reconcile(peers: peers, handle: handle)
                if !again.plan.isEmpty { fatalError("not idempotent: \(again.plan)") }
            }
        }
        let leave = try milliseconds { _ = try overlay.reconcile(peers: Array(peers.dropLast()), handle: handle) }
        let clear = try milliseconds { _ = try overlay.reconcile(peers: [], handle: handle) }

        let hostGateway = HostGateway(underlayDevice: "eth0")
        let hostPeers = peers.map { HostGatewayPeer(subnet: $0.subnet, nodeAddress: $0.underlayAddress) }
        let hostApply = try milliseconds {
            let outcome = try hostGateway.reconcile(peers: hostPeers, handle: handle)
            if !outcome.succeeded { fatalError("refused: \(outcome.failures.prefix(3))") }
        }
        let hostNoops = try (0..<5).map { _ in try milliseconds { _ = try hostGateway.reconcile(peers: hostPeers, handle: handle) } }

        print("remote nodes: \(count)")
        print("vxlan plan from scratch (pure), median of 5: \(format(median(plans))) ms")
        print("vxlan first reconcile (\(first.plan.routes.count) routes + \(first.plan.neighborUpdates.count) neighbours + \(first.plan.forwardingUpdates.count) FDB entries): \(format(apply)) ms")
        print("vxlan no-op reconcile (read + plan), median of 5: \(format(median(noops))) ms")
        print("vxlan one node leaves: \(format(leave)) ms")
        print("vxlan all nodes leave: \(format(clear)) ms")
        print("host-gw first reconcile (\(count) routes): \(format(hostApply)) ms")
        print("host-gw no-op reconcile, median of 5: \(format(median(hostNoops))) ms")
    }
}
