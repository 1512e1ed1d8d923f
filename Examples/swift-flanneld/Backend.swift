import AgentHTTP
import Netlink
import NetPrimitives
import Routing
import VXLAN

/// A remote node as the agent learns it from its lease.
struct RemoteNode: Hashable, Sendable {
    var subnet: IPNetwork
    var address: IPAddress
    var vtepMACAddress: MACAddress?
}

/// The programmed data path: the VXLAN overlay or host-gw routes.
struct DataPath: Sendable {
    let backend: BackendConfiguration
    let handle: NetlinkHandle
    let underlayDevice: InterfaceName
    let underlayNetwork: IPNetwork
    let localSubnet: IPNetwork

    /// Converges the kernel towards `nodes` (everyone but this node). Returns the number of
    /// changes made; throws when the kernel refused some.
    func reconcile(_ nodes: [RemoteNode]) throws -> Int {
        switch backend.kind {
        case .hostGateway:
            let peers = nodes.map { HostGatewayPeer(subnet: $0.subnet, nodeAddress: $0.address) }
            let outcome = try HostGateway(underlayDevice: underlayDevice, localSubnet: localSubnet).reconcile(peers: peers, handle: handle)
            guard outcome.succeeded else { throw AgentError(.failed, "host-gw routes refused: \(outcome.failures)") }
            return outcome.plan.count
        case .vxlan:
            let peers = nodes.compactMap { node in
                node.vtepMACAddress.map { OverlayPeer(subnet: node.subnet, underlayAddress: node.address, vtepMACAddress: $0) }
            }
            let overlay = OverlayReconciler(
                device: try InterfaceName("flannel.\(backend.identifier)"), localSubnet: localSubnet,
                directRouting: backend.directRouting, underlayDevice: underlayDevice, underlayNetwork: underlayNetwork)
            let outcome = try overlay.reconcile(peers: peers, handle: handle)
            guard outcome.succeeded else { throw AgentError(.failed, "overlay changes refused: \(outcome.failures)") }
            let plan = outcome.plan
            return plan.routes.count + plan.neighborUpdates.count + plan.neighborDeletions.count
                + plan.forwardingUpdates.count + plan.forwardingDeletions.count
        }
    }
}
