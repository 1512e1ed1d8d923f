import AgentHTTP
import Datastore
import Foundation
import IPAM
import Logging
import Netlink
import NetPrimitives
import Routing
import VXLAN

/// Calico's VXLAN encapsulation per IP pool (`vxlanMode` on the pool: `Never`, `Always`,
/// `CrossSubnet`). With a pool whose mode is not `Never` the agent makes the VTEP
/// `vxlan.calico` (VNI 4096, UDP 4789, MTU = underlay − 50) whose address comes from IPAM
/// (handle `vxlan-tunnel-addr-<node>`, so from one of the node's blocks), publishes address
/// and MAC in its node record (`ipv4VXLANTunnelAddr`, `vxlanTunnelMACAddr`), and for each
/// remote block of such a pool keeps, through VXLAN's ``OverlayReconciler``: a route via the
/// owner's VTEP address onlink on `vxlan.calico` with its neighbour and FDB entries (`Always`,
/// or `CrossSubnet` with the owner in another underlay subnet), or a plain route via the
/// owner's underlay address (`CrossSubnet` with the owner on the same subnet). Routes carry
/// `proto 80`. BGP-learned routes for those pools are then left to this overlay (the
/// ``RouteInstaller`` excludes them).
struct CalicoVXLAN: Sendable {
    enum Mode: String, Codable, Sendable {
        case never = "Never"
        case always = "Always"
        case crossSubnet = "CrossSubnet"
    }

    static let device = try! InterfaceName("vxlan.calico")
    static let identifier: UInt32 = 4096
    static let port: UInt16 = 4789
    static let routeProtocol = Netlink.Route.ProtocolTag(80)

    let node: String
    let address: IPv4Address
    /// The pools whose mode is not `Never`, with their mode.
    let pools: [(network: IPNetwork, mode: Mode)]
    /// The VXLAN pools as IPAM sees them: the tunnel address comes from one of them.
    let blockPools: [BlockPool]
    let store: any Datastore
    let netlink: NetlinkHandle
    let logger: Logger

    /// Nil when no pool asks for VXLAN.
    init?(node: String, address: IPv4Address, configuration: NodeConfiguration, store: any Datastore, netlink: NetlinkHandle, logger: Logger) {
        let pools = (configuration.ipPools ?? []).compactMap { pool -> (IPNetwork, Mode)? in
            guard let mode = pool.vxlanMode, mode != .never else { return nil }
            return (pool.cidr, mode)
        }
        guard !pools.isEmpty else { return nil }
        self.node = node
        self.address = address
        self.pools = pools
        self.blockPools = (configuration.ipPools ?? []).filter { ($0.vxlanMode ?? .never) != .never }
            .map { BlockPool(cidr: $0.cidr, blockSize: $0.blockSize) }
        self.store = store
        self.netlink = netlink
        self.logger = logger
    }

    /// The networks whose remote blocks this overlay routes.
    var networks: [IPNetwork] { pools.map(\.network) }

    struct Tunnel: Sendable {
        var address: IPAddress
        var macAddress: MACAddress
        var underlayNetwork: IPNetwork
        var underlayDevice: InterfaceName
    }

    /// The VTEP's address from IPAM (the same address again after a restart: the handle is
    /// the node's), the device made or adopted.
    func prepare() async throws -> Tunnel {
        let underlay = try netlink.addresses(family: .v4).first { $0.network.address == .v4(address) }
        guard let underlay, let link = try? netlink.link(index: underlay.linkIndex) else {
            throw AgentError(.invalidConfiguration, "no interface holds the node address \(address)")
        }
        let device = try InterfaceName(link.name)
        let allocator = try BlockAllocator(store: store, node: node, pools: blockPools)
        guard let tunnelAddress = try await allocator.allocate(handle: "vxlan-tunnel-addr-\(node)").first?.address else {
            throw AgentError(.invalidConfiguration, "IPAM gave no address for the VXLAN tunnel of \(node)")
        }
        var vtep = try VTEPDevice(
            identifier: Self.identifier, port: Self.port, nodeName: node, subnet: IPNetwork(host: tunnelAddress),
            underlayDevice: device, underlayAddress: .v4(address), underlayMTU: link.mtu)
        vtep.deviceName = Self.device
        let state = try vtep.ensure(handle: netlink)
        logger.info("VXLAN tunnel \(state.name) \(tunnelAddress) \(state.macAddress) MTU \(state.mtu) over \(device)")
        return Tunnel(address: tunnelAddress, macAddress: state.macAddress, underlayNetwork: underlay.network.network, underlayDevice: device)
    }

    /// The overlay peers for the remote blocks of the VXLAN pools (pure): a peer of an
    /// `Always` pool is never routed directly, one of a `CrossSubnet` pool is when its owner
    /// shares the node's underlay subnet.
    func peers(blocks: [AllocationBlock], nodes: [NodeRecord]) -> [OverlayPeer] {
        var byName: [String: NodeRecord] = [:]
        for record in nodes { byName[record.name] = record }
        var peers: [OverlayPeer] = []
        for block in blocks.sorted(by: { $0.cidr.address < $1.cidr.address }) {
            guard let owner = block.affinity, owner != node, let record = byName[owner],
                let pool = pools.first(where: { $0.network.contains(block.cidr.address) }),
                let underlay = record.addresses.first.flatMap(IPAddress.init),
                let tunnel = record.ipv4VXLANTunnelAddr.flatMap(IPAddress.init),
                let mac = record.vxlanTunnelMACAddr.flatMap({ try? MACAddress(parsing: $0) })
            else { continue }
            var peer = OverlayPeer(subnet: block.cidr, underlayAddress: underlay, vtepMACAddress: mac, tunnelAddress: tunnel)
            peer.mayRouteDirectly = pool.mode == .crossSubnet
            peers.append(peer)
        }
        return peers
    }

    /// Programs the routes, neighbours and FDB entries of the remote blocks (idempotent).
    func reconcile(tunnel: Tunnel, blocks: [AllocationBlock], nodes: [NodeRecord]) throws {
        let reconciler = OverlayReconciler(
            device: Self.device, directRouting: true, underlayDevice: tunnel.underlayDevice, underlayNetwork: tunnel.underlayNetwork,
            routes: RouteReconciler(protocolTag: Self.routeProtocol))
        let result = try reconciler.reconcile(peers: peers(blocks: blocks, nodes: nodes), handle: netlink)
        if !result.succeeded { logger.warning("VXLAN overlay: \(result.failures.count) requests failed, first: \(result.failures[0])") }
    }
}
