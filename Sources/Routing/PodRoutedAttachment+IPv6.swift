import CNISpec
import Netlink
import NetPrimitives

/// IPv6 on the link-local-gateway data path (``PodRoutedAttachment/Gateway/linkLocal``), as
/// Calico gives it to pods: the pod's IPv6 addresses are /128s on its end, its IPv6 default
/// route goes via the host end's link-local address (``ipv6Gateway``, fe80::ecee:eeff:feee:eeee,
/// the EUI-64 address of Calico's host MAC ee:ee:ee:ee:ee:ee), and the node routes each /128
/// to the host end. The host end has IPv6 on, forwarding and proxy NDP (as Calico sets them).
///
/// Both directions are resolved without neighbour discovery: the pod holds a permanent
/// neighbour entry for the gateway (as it does for 169.254.1.1), the host end one for each
/// pod address, and duplicate address detection is off on both ends (a point-to-point link),
/// so the pod is reachable over IPv6 as soon as ADD returns.
extension PodRoutedAttachment {
    /// fe80::ecee:eeff:feee:eeee: the link-local address the host end derives from
    /// ee:ee:ee:ee:ee:ee; every routed pod's IPv6 gateway.
    public static let ipv6Gateway = try! IPAddress(parsing: "fe80::ecee:eeff:feee:eeee")
    static let defaultIPv6 = try! IPNetwork(parsing: "::/0")

    var hasIPv6: Bool { addresses.contains { $0.family == .v6 } }

    /// The host end's IPv6 switches (`sysctl net.ipv6.conf.HOST.disable_ipv6=0 accept_dad=0
    /// proxy_ndp=1 forwarding=1`); before the pod's addresses are added.
    func configureIPv6Host(host: NetlinkHandle) throws {
        let device = veth.hostInterface.value
        try host.setSysctl("net.ipv6.conf.\(device).disable_ipv6", to: "0")
        try host.setSysctl("net.ipv6.conf.\(device).accept_dad", to: "0")
        try host.setSysctl("net.ipv6.conf.\(device).proxy_ndp", to: "1")
        try host.setSysctl("net.ipv6.conf.\(device).forwarding", to: "1")
    }

    /// The pod end's: IPv6 on, no duplicate address detection (`sysctl
    /// net.ipv6.conf.eth0.disable_ipv6=0 accept_dad=0` in the pod).
    func configureIPv6Pod(pod: NetlinkHandle) throws {
        let device = veth.containerInterface.value
        try pod.setSysctl("net.ipv6.conf.\(device).disable_ipv6", to: "0")
        try pod.setSysctl("net.ipv6.conf.\(device).accept_dad", to: "0")
    }

    /// `ip -6 neigh replace fe80::ecee:eeff:feee:eeee lladdr HOSTMAC dev eth0 nud permanent;
    /// ip -6 route replace default via fe80::ecee:eeff:feee:eeee dev eth0` in the pod (unless
    /// another interface of the pod has the IPv6 default route), and `ip -6 neigh replace POD
    /// lladdr PODMAC dev HOST nud permanent` on the node for each IPv6 address.
    func configureIPv6Routes(links: PodAttachment.Links, host: NetlinkHandle, pod: NetlinkHandle) throws {
        let device = veth.containerInterface
        if let mac = links.host.macAddress {
            try pod.replaceNeighbor(.permanent(Self.ipv6Gateway, macAddress: mac), device: device)
        }
        let others = try pod.routes(family: .v6).contains { route in
            route.destination == Self.defaultIPv6 && route.nextHops.contains { $0.device != nil && $0.device != device }
        }
        if !others {
            try pod.replaceRoute(Netlink.Route(destination: Self.defaultIPv6, gateway: Self.ipv6Gateway, device: device))
        }
        if let mac = links.container.macAddress {
            for address in addresses where address.family == .v6 {
                try host.replaceNeighbor(.permanent(address.address, macAddress: mac), device: veth.hostInterface)
            }
        }
    }

    /// CHECK's IPv6 part: the pod's IPv6 default route via ``ipv6Gateway``.
    func validateIPv6(pod: NetlinkHandle) throws(CNIError) {
        let routes: [Netlink.Route]
        do { routes = try pod.routes(family: .v6) } catch {
            throw CNIError(.internal, "failed to read the IPv6 routes in \(pod.namespace)", details: "\(error)")
        }
        guard routes.contains(where: { $0.destination.prefixLength == 0 && $0.gateway == Self.ipv6Gateway }) else {
            throw CNIError(.internal, "IPv6 default route via \(Self.ipv6Gateway) not found in \(pod.namespace)")
        }
    }
}
