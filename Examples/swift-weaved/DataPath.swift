import Netlink
import Nftables
import NetPrimitives
import Routing
import VXLAN
import Weave

/// The node's data path as Weave lays it out: bridge `weave` (the pods' L2 segment and, with
/// its ring address, their gateway), the kernel VXLAN port `vxlan-6784` in it (the fast path,
/// with a flood entry per directly connected peer), IPv4 forwarding, bridged traffic through
/// the IP hooks (network policy sees it), and masquerade for traffic leaving the range.
struct DataPath: Sendable {
    let netlink: NetlinkHandle
    let range: IPNetwork
    let fastPath: BridgedVXLANPort
    let floodList: FloodListReconciler

    init(netlink: NetlinkHandle, range: IPNetwork, underlay: NodeUnderlay, underlayMTU: Int) throws {
        self.netlink = netlink
        self.range = range
        fastPath = try BridgedVXLANPort(
            name: WeaveNames.fastPathDevice, identifier: WeaveNames.fastPathIdentifier, port: WeaveNames.fastPathPort,
            bridge: WeaveNames.bridge, underlayDevice: underlay.interface, underlayAddress: underlay.address.address,
            underlayMTU: underlayMTU)
        floodList = FloodListReconciler(device: WeaveNames.fastPathDevice)
    }

    /// The MTU of the bridge and the pods (the fast path's).
    var mtu: Int { fastPath.mtu }

    /// Bridge, fast-path port, forwarding, masquerade. Idempotent; `gateway` (the bridge's ring
    /// address) when known.
    func ensure(gateway: IPAddress?) throws {
        let addresses = try gateway.map { [try IPNetwork(address: $0, prefixLength: range.prefixLength)] } ?? []
        try BridgeAttachment.ensure(
            BridgeConfiguration(name: WeaveNames.bridge, mtu: mtu, gatewayAddresses: addresses, enablesForwarding: true),
            host: netlink)
        if try netlink.link(named: WeaveNames.bridge).mtu != mtu { try netlink.setMTU(mtu, of: WeaveNames.bridge) }
        try fastPath.ensure(handle: netlink)
        try netlink.setIPForwarding(true)
        // Bridged IPv4 through the IP hooks: policy and conntrack see pod-to-pod traffic on the
        // bridge (Weave needs the same). Best effort: without br_netfilter the file is absent.
        if (try? netlink.sysctl("net.bridge.bridge-nf-call-iptables")) != "1" {
            try? netlink.setSysctl("net.bridge.bridge-nf-call-iptables", to: "1")
        }
        try Masquerade.ensure(range: range, handle: NftablesHandle(namespace: netlink.namespace))
    }

    /// The flood list: one entry per peer reachable directly on the underlay.
    @discardableResult
    func reconcileFloodList(remotes: Set<IPAddress>) throws -> FloodListPlan {
        try floodList.reconcile(remotes: remotes, handle: netlink)
    }
}

/// Traffic from the range to anywhere outside it is masqueraded; pod to pod is not. The
/// node's NAT table `inet swiftcni_nat`, replaced atomically when it differs:
///
/// ```
/// table inet swiftcni_nat {
///   chain postrouting {
///     type nat hook postrouting priority 100; policy accept;
///     ip saddr 10.32.0.0/12 ip daddr 10.32.0.0/12 counter return
///     ip saddr 10.32.0.0/12 ip daddr != 224.0.0.0/4 counter masquerade fully-random
///   }
/// }
/// ```
enum Masquerade {
    static let table = NftablesTable(family: .inet, name: "swiftcni_nat")

    static func contents(range: IPNetwork) throws -> NftablesTableContents {
        let chain = NftablesChain.base(table: table, name: "postrouting", type: .nat, hook: .postrouting, priority: 100)
        let multicast = try IPNetwork(parsing: "224.0.0.0/4")
        return NftablesTableContents(
            table: table, chains: [chain],
            rules: [
                NftablesRule(in: chain, matches: [.sourceAddress(range.network), .destinationAddress(range.network)],
                             statements: [.counter, .return], comment: "weave: pod to pod"),
                NftablesRule(in: chain, matches: [.sourceAddress(range.network), .destinationAddress(multicast, negated: true)],
                             statements: [.counter, .masqueradeFullyRandom], comment: "weave: leaving the range"),
            ])
    }

    static func ensure(range: IPNetwork, handle: NftablesHandle) throws {
        let wanted = try contents(range: range)
        if let current = try? handle.contents(of: table), current.isEquivalent(to: wanted) { return }
        var transaction = NftablesTransaction()
        transaction.replace(with: wanted)
        try handle.apply(transaction)
    }
}
