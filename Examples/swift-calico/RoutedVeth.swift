import CNISpec
import Namespaces
import Netlink
import NetPrimitives

/// Calico's data path for one pod, programmed through Netlink: a veth pair without bridge,
/// the host end `cali…` with MAC ee:ee:ee:ee:ee:ee and proxy ARP, the pod end named CNI_IFNAME
/// with its addresses as /32 (/128), a link-scope route to 169.254.1.1 and the default route
/// through it; on the node one host route per pod address (`proto 92`).
///
/// The pod also gets a permanent neighbour entry for 169.254.1.1 (the host end's MAC), so it
/// does not depend on proxy ARP answering (which needs the node to have a route for
/// 169.254.1.1, usually its default route).
///
/// (Belongs in the Routing library as its routed attachment once that lands.)
struct RoutedVeth: Sendable {
    static let gateway = try! IPAddress(parsing: "169.254.1.1")
    static let hostMACAddress = MACAddress("ee:ee:ee:ee:ee:ee")!
    /// `proto 92`: per-pod host routes (ARCHITECTURE.md section 3).
    static let hostRouteProtocol = Netlink.Route.ProtocolTag(92)

    var hostInterface: InterfaceName
    var podInterface: InterfaceName
    var mtu: Int?

    struct Links: Sendable {
        var host: Link
        var pod: Link
    }

    /// `ip link add HOST type veth peer name IF netns POD`, then the addresses and routes
    /// above. On failure everything created is removed again and the error rethrown.
    func create(addresses: [IPNetwork], node: NetlinkHandle, pod: NetlinkHandle) throws -> Links {
        var specification = LinkSpecification.veth(hostInterface, peer: podInterface, peerNamespace: pod.namespace, mtu: mtu)
        specification.macAddress = Self.hostMACAddress
        do {
            try node.addLink(specification)
        } catch let error as NetlinkError where error.isAlreadyExists {
            throw CNIError(
                .internal, "failed to create the veth pair \(hostInterface)/\(podInterface): an interface already exists",
                details: "\(error)")
        }
        do {
            try node.setProxyARP(true, device: hostInterface)
            try? node.setSysctl("net.ipv4.neigh.\(hostInterface).proxy_delay", to: "0")
            try node.setIPForwarding(true)
            try node.setLinkUp(hostInterface)
            try pod.setLinkUp(podInterface)
            for address in addresses {
                try pod.addAddress(Address(IPNetwork(host: address.address)), device: podInterface)
            }
            if addresses.contains(where: { $0.family == .v4 }) {
                try pod.replaceNeighbor(.permanent(Self.gateway, macAddress: Self.hostMACAddress), device: podInterface)
                try pod.replaceRoute(Netlink.Route(destination: IPNetwork(host: Self.gateway), device: podInterface, scope: .link))
                try pod.replaceRoute(
                    Netlink.Route(destination: try IPNetwork(parsing: "0.0.0.0/0"), gateway: Self.gateway, device: podInterface))
            }
            for address in addresses {
                try node.replaceRoute(
                    Netlink.Route(
                        destination: IPNetwork(host: address.address), device: hostInterface,
                        protocolTag: Self.hostRouteProtocol, scope: .link))
            }
            return Links(host: try node.link(named: hostInterface), pod: try pod.link(named: podInterface))
        } catch {
            _ = try? node.deleteLinkIfPresent(named: hostInterface)
            throw CNIError(.internal, "failed to set up the pod interface \(podInterface) (host end \(hostInterface))", details: "\(error)")
        }
    }

    /// `ip link del HOST` (the pod end and the host routes go with it); a missing link is fine.
    func remove(node: NetlinkHandle) throws {
        _ = try node.deleteLinkIfPresent(named: hostInterface)
    }

    /// CHECK: the host end exists and is up with its host route per address; the pod end has
    /// every address and the default route via 169.254.1.1.
    func validate(addresses: [IPNetwork], node: NetlinkHandle, pod: NetlinkHandle) throws(CNIError) {
        do {
            guard let host = try node.linkIfPresent(named: hostInterface) else {
                throw CNIError(.internal, "host interface \(hostInterface) not found")
            }
            guard host.isUp else { throw CNIError(.internal, "host interface \(hostInterface) is down") }
            guard try pod.linkIfPresent(named: podInterface) != nil else {
                throw CNIError(.internal, "interface \(podInterface) not found in \(pod.namespace)")
            }
            let present = Set(try pod.addresses(device: podInterface).map(\.network))
            for address in addresses where !present.contains(IPNetwork(host: address.address)) {
                throw CNIError(.internal, "address \(IPNetwork(host: address.address)) not found on \(podInterface) in \(pod.namespace)")
            }
            let hostRoutes = try node.routes(protocolTag: Self.hostRouteProtocol)
            for address in addresses where !hostRoutes.contains(where: {
                $0.destination == IPNetwork(host: address.address) && $0.nextHops.first?.device == hostInterface
            }) {
                throw CNIError(.internal, "host route \(IPNetwork(host: address.address)) dev \(hostInterface) not found")
            }
            if addresses.contains(where: { $0.family == .v4 }) {
                let routes = try pod.routes(family: .v4)
                guard routes.contains(where: { $0.destination.prefixLength == 0 && $0.gateway == Self.gateway }) else {
                    throw CNIError(.internal, "default route via \(Self.gateway) not found in \(pod.namespace)")
                }
            }
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.internal, "failed to read the pod's interfaces", details: "\(error)")
        }
    }
}
