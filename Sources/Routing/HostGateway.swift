import Netlink
import NetPrimitives

/// A remote node as the host-gw backend sees it: the pod subnet it leased and the node's
/// address on the shared underlay.
public struct HostGatewayPeer: Hashable, Sendable, CustomStringConvertible {
    public var subnet: IPNetwork
    public var nodeAddress: IPAddress

    public init(subnet: IPNetwork, nodeAddress: IPAddress) {
        self.subnet = subnet
        self.nodeAddress = nodeAddress
    }

    public var description: String { "\(subnet.network) via \(nodeAddress)" }
}

/// flannel's host-gw backend: one route per remote node subnet via that node's underlay
/// address (`ip route replace 10.244.2.0/24 via 192.168.50.12 dev eth0 proto 91`; over IPv6
/// `fd00:10:244:2::/64 via fd77::12 dev eth0 proto 91`, the node's IPv6 underlay address).
/// Every node must share one L2 underlay. Routes are owned through a ``RouteReconciler`` with
/// the `Route.ProtocolTag.flannelOverlay` tag, so a route of any other owner is left
/// alone. A dual-stack node runs one per ``family``, as flannel does.
///
/// ```swift
/// let backend = HostGateway(underlayDevice: "eth0", localSubnet: "10.244.1.0/24", family: .v4)
/// try backend.reconcile(peers: [HostGatewayPeer(subnet: "10.244.2.0/24", nodeAddress: "192.168.50.12")],
///                       handle: handle)
/// let v6 = HostGateway(underlayDevice: "eth0", localSubnet: "fd00:10:244:1::/64", family: .v6)
/// try v6.reconcile(peers: [HostGatewayPeer(subnet: "fd00:10:244:2::/64", nodeAddress: "fd77::12")], handle: handle)
/// ```
public struct HostGateway: Hashable, Sendable {
    /// The underlay device the routes leave through.
    public var underlayDevice: InterfaceName
    /// This node's own subnet: never routed through a peer.
    public var localSubnet: IPNetwork?
    /// The family whose routes this backend owns: peers of the other family are ignored and
    /// its routes never read or deleted (so an IPv4 and an IPv6 backend share the tag). nil:
    /// every family.
    public var family: IPAddress.Family?
    public var reconciler: RouteReconciler

    public init(underlayDevice: InterfaceName, localSubnet: IPNetwork? = nil, family: IPAddress.Family? = nil,
                reconciler: RouteReconciler = RouteReconciler(protocolTag: .flannelOverlay)) {
        self.underlayDevice = underlayDevice
        self.localSubnet = localSubnet
        self.family = family
        self.reconciler = reconciler
    }

    /// The routes for `peers` (pure). This node's own subnet, peers of another ``family``,
    /// peers whose address family differs from their subnet's, and duplicate subnets (first
    /// wins) are skipped.
    public func routes(for peers: [HostGatewayPeer]) -> [Route] {
        var seen = Set<IPNetwork>()
        var routes: [Route] = []
        for peer in peers {
            let subnet = peer.subnet.network
            guard subnet != localSubnet?.network, peer.nodeAddress.family == subnet.family, family == nil || subnet.family == family,
                  seen.insert(subnet).inserted else { continue }
            routes.append(reconciler.owned(Route(destination: subnet, gateway: peer.nodeAddress, device: underlayDevice)))
        }
        return routes
    }

    /// Converges the host-gw routes towards `peers`: adds missing ones, replaces changed
    /// ones, deletes routes of nodes that left. Idempotent.
    @discardableResult
    public func reconcile(peers: [HostGatewayPeer], handle: NetlinkHandle) throws -> RouteReconciliation {
        try reconciler.reconcile(routes(for: peers), family: family, handle: handle)
    }
}
