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

    init(netlink: NetlinkHandle, range: IPNetwork, underlay: NodeUnderlay, underlayMTU: Int, bridgeMAC: MACAddress? = nil) throws {
        self.netlink = netlink
        self.range = range
        fastPath = try BridgedVXLANPort(
            name: WeaveNames.fastPathDevice, identifier: WeaveNames.fastPathIdentifier, port: WeaveNames.fastPathPort,
            bridge: WeaveNames.bridge, underlayDevice: underlay.interface, underlayAddress: underlay.address.address,
            underlayMTU: underlayMTU)
        floodList = FloodListReconciler(device: WeaveNames.fastPathDevice)
        self.underlayMTU = underlayMTU
        self.bridgeMAC = bridgeMAC
    }

    let underlayMTU: Int
    /// The bridge's MAC: the local peer's name (a locally administered unicast address), so
    /// peers address fast-path heartbeats to it without asking.
    let bridgeMAC: MACAddress?

    /// The MTU of the bridge and the pods: frames must fit the fast path and a sealed sleeve
    /// datagram alike (a pair may move from one to the other while traffic flows), so the pods
    /// get the smaller of the two and no frame is ever too large for either path.
    var mtu: Int { min(fastPath.mtu, Sleeve.podMTU(underlayMTU: underlayMTU)) }

    /// Bridge, fast-path port, forwarding, masquerade. Idempotent; `gateway` (the bridge's ring
    /// address) when known.
    func ensure(gateway: IPAddress?) throws {
        let addresses = try gateway.map { [try IPNetwork(address: $0, prefixLength: range.prefixLength)] } ?? []
        try BridgeAttachment.ensure(
            BridgeConfiguration(name: WeaveNames.bridge, mtu: mtu, gatewayAddresses: addresses, enablesForwarding: true),
            host: netlink)
        let bridge = try netlink.link(named: WeaveNames.bridge)
        if bridge.mtu != mtu { try netlink.setMTU(mtu, of: WeaveNames.bridge) }
        if let bridgeMAC, bridge.macAddress != bridgeMAC { try netlink.setMACAddress(bridgeMAC, of: WeaveNames.bridge) }
        try fastPath.ensure(handle: netlink)
        if let sleeve = try netlink.linkIfPresent(named: WeaveNames.sleeveDevice) {
            if sleeve.mtu != mtu { try netlink.setMTU(mtu, of: WeaveNames.sleeveDevice) }
            if sleeve.masterIndex != (try netlink.link(named: WeaveNames.bridge).index) {
                try netlink.setMaster(WeaveNames.bridge, of: WeaveNames.sleeveDevice)
            }
            try netlink.setLinkUp(WeaveNames.sleeveDevice)
        }
        // Split horizon: a frame that came from one overlay port (fast path or sleeve) never
        // leaves by the other, so a peer reached both ways never gets it twice and no bridge
        // learns a remote MAC behind the wrong peer.
        for port in [WeaveNames.fastPathDevice, WeaveNames.sleeveDevice] {
            if let link = try netlink.linkIfPresent(named: port), link.isIsolated != true {
                try netlink.setIsolated(true, port: port)
            }
        }
        try netlink.setIPForwarding(true)
        // Bridged IPv4 through the IP hooks: policy and conntrack see pod-to-pod traffic on the
        // bridge (Weave needs the same). Best effort: without br_netfilter the file is absent.
        if (try? netlink.sysctl("net.bridge.bridge-nf-call-iptables")) != "1" {
            try? netlink.setSysctl("net.bridge.bridge-nf-call-iptables", to: "1")
        }
        try Masquerade.ensure(range: range, handle: NftablesHandle(namespace: netlink.namespace))
    }

    /// Forgets the MACs the bridge learned behind its fast-path and sleeve ports
    /// (`bridge fdb del MAC dev PORT master` for each dynamic entry): after a peer changed
    /// path, its pods' frames flood once and the bridge learns the new port.
    func forgetLearnedAddresses() throws {
        for port in [WeaveNames.fastPathDevice, WeaveNames.sleeveDevice] {
            guard try netlink.linkIfPresent(named: port) != nil else { continue }
            for entry in try netlink.forwardingEntries(device: port)
            where !entry.flags.contains(.self) && !entry.state.contains(.permanent) && entry.address == nil {
                // The bridge's own entries carry neither `self` nor a destination (the dump
                // marks them with the bridge's index, not with NTF_MASTER).
                guard let mac = entry.macAddress else { continue }
                _ = try netlink.deleteNeighborIfPresent(
                    Neighbor(family: .bridge, address: nil, macAddress: mac, state: [], flags: .master), device: port)
            }
        }
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
