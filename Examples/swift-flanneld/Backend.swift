import AgentHTTP
import IPAM
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

/// The data path of each family the network enables (IPv4 over `flannel.1`, IPv6 over
/// `flannel-v6.1`), converged from the other nodes' leases.
struct DataPaths: Sendable {
    let paths: [DataPath]

    /// Converges every family towards `leases` (the other nodes'); returns the changes made.
    func reconcile(_ leases: [SubnetLease]) throws -> Int {
        var changed = 0
        for path in paths { changed += try path.reconcile(leases.compactMap { path.remoteNode(of: $0) }) }
        return changed
    }
}

/// The programmed data path of one family: the VXLAN overlay or host-gw routes.
struct DataPath: Sendable {
    let backend: BackendConfiguration
    let handle: NetlinkHandle
    let underlayDevice: InterfaceName
    let underlayNetwork: IPNetwork
    let localSubnet: IPNetwork
    var family: IPAddress.Family = .v4

    /// Another node's lease as a peer of this family (nil when it has no subnet or address of it).
    func remoteNode(of lease: SubnetLease) -> RemoteNode? {
        let attributes = lease.attributes
        let (subnet, publicIP, data) =
            family == .v4
            ? (lease.hasIPv4 ? lease.subnet : nil, attributes.PublicIP, attributes.BackendData)
            : (lease.ipv6Subnet, attributes.PublicIPv6 ?? "", attributes.BackendV6Data)
        guard let subnet, let address = try? IPAddress(parsing: publicIP), address.family == family else { return nil }
        let mac = data?["VtepMAC"]?.stringValue.flatMap { try? MACAddress(parsing: $0) }
        return RemoteNode(subnet: subnet.network, address: address, vtepMACAddress: mac)
    }

    /// Converges the kernel towards `nodes` (everyone but this node). Returns the number of
    /// changes made; throws when the kernel refused some.
    func reconcile(_ nodes: [RemoteNode]) throws -> Int {
        switch backend.kind {
        case .hostGateway:
            let peers = nodes.map { HostGatewayPeer(subnet: $0.subnet, nodeAddress: $0.address) }
            // One backend per family (IPv6 routes via the peers' IPv6 underlay addresses), each
            // reading and deleting only its family's routes.
            let backend = HostGateway(underlayDevice: underlayDevice, localSubnet: localSubnet, family: family)
            let outcome = try backend.reconcile(peers: peers, handle: handle)
            guard outcome.succeeded else { throw AgentError(.failed, "host-gw routes refused: \(outcome.failures)") }
            return outcome.plan.count
        case .vxlan:
            let peers = nodes.compactMap { node in
                node.vtepMACAddress.map { OverlayPeer(subnet: node.subnet, underlayAddress: node.address, vtepMACAddress: $0) }
            }
            let overlay = OverlayReconciler(
                device: VTEPDevice.flannelName(identifier: backend.identifier, family: family), localSubnet: localSubnet,
                directRouting: backend.directRouting, underlayDevice: underlayDevice, underlayNetwork: underlayNetwork, family: family)
            let outcome = try overlay.reconcile(peers: peers, handle: handle)
            guard outcome.succeeded else { throw AgentError(.failed, "overlay changes refused: \(outcome.failures)") }
            let plan = outcome.plan
            return plan.routes.count + plan.neighborUpdates.count + plan.neighborDeletions.count
                + plan.forwardingUpdates.count + plan.forwardingDeletions.count
        }
    }
}
