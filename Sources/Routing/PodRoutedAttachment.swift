import CNISpec
import Netlink
import NetPrimitives

/// A routed pod attachment, Calico's data path: no bridge. The pod gets its addresses as /32
/// (/128), a link-scope route to the fixed gateway 169.254.1.1, a default route through it and
/// a permanent neighbour entry for 169.254.1.1 with the host end's MAC address, so it never
/// needs an ARP answer for its gateway. The host end has proxy ARP on (with no delay), for
/// pods that ask anyway, and the host routes each pod address to the host end
/// (`ip route add POD/32 dev cali… scope link proto P`). Proxy ARP answers only when the node
/// forwards IPv4 and has a route for 169.254.1.1 (its default route), and pod traffic leaves
/// the node only when it forwards: both are the node's business (its agent's, or the
/// plugin's), not this attachment's. IPv6 addresses get Calico's link-local gateway
/// fe80::ecee:eeff:feee:eeee (``ipv6Gateway``; see PodRoutedAttachment+IPv6.swift).
///
/// ```swift
/// let veth = PodAttachment(containerID: "c1", interfaceName: "eth0", podNamespace: pod, mtu: 1440,
///                          hostInterface: PodInterfaceNaming.hostInterfaceName(containerID: "c1", interfaceName: "eth0", prefix: "cali"))
/// let routed = PodRoutedAttachment(veth: veth, addresses: [try IPNetwork(parsing: "10.65.0.7/32")],
///                                  hostRouteProtocol: Route.ProtocolTag(rawValue: 92), hostMACAddress: MACAddress("ee:ee:ee:ee:ee:ee"))
/// let links = try routed.create(host: nodeHandle, pod: podHandle)     // ADD
/// try routed.validate(host: nodeHandle, pod: podHandle)               // CHECK
/// try routed.remove(host: nodeHandle)                                 // DEL
/// ```
public struct PodRoutedAttachment: Sendable {
    /// The gateway every routed pod uses; it exists only as the pod's neighbour entry and as
    /// proxy ARP on the host end.
    public static let gateway = try! IPAddress(parsing: "169.254.1.1")

    /// The pod's gateway: Calico's link-local one or the IPAM gateways (ptp's data path).
    public enum Gateway: Hashable, Sendable {
        /// 169.254.1.1 (``gateway``), a permanent neighbour entry in the pod and proxy ARP on
        /// the host end; the pod's addresses are host addresses (/32, /128).
        case linkLocal
        /// ptp's: the gateway of each address (`gateways[i]` for `addresses[i]`) is placed on
        /// the host end as a host address; the pod keeps each address with its subnet's prefix,
        /// reaches the gateway on the link (`ip route add GW/32 dev eth0 scope link src A`) and
        /// the rest of the subnet through it (`ip route add SUBNET via GW dev eth0 src A`), no
        /// prefix route; ``PodRoutedAttachment/podRoutes`` (IPAM's `routes`) go via the gateway.
        case ipam(gateways: [IPAddress])
    }

    /// The veth pair (its ``PodAttachment/bridge`` is ignored: routed ends join no bridge).
    public var veth: PodAttachment
    /// The pod's addresses: host addresses (/32 or /128) with ``Gateway/linkLocal``, with
    /// their subnet's prefix with ``Gateway/ipam(gateways:)``.
    public var addresses: [IPNetwork]
    /// How the pod reaches the node (``Gateway/linkLocal`` unless made with
    /// ``init(veth:ips:routes:hostRouteProtocol:)``).
    public var gatewayMode: Gateway = .linkLocal
    /// With ``Gateway/ipam(gateways:)``, the routes the pod gets besides its subnet's (the
    /// IPAM result's `routes`; a route without `gw` goes via the gateway of its family).
    public var podRoutes: [CNIRoute] = []
    /// The protocol number the host routes carry, so their owner can find them.
    public var hostRouteProtocol: Netlink.Route.ProtocolTag
    /// The host end's MAC address (Calico uses ee:ee:ee:ee:ee:ee), set when the pair is created
    /// (``PodAttachment/hostMACAddress``); nil keeps a random one.
    public var hostMACAddress: MACAddress? {
        get { veth.hostMACAddress }
        set { veth.hostMACAddress = newValue }
    }

    /// A routed attachment over `veth` (whose bridge is cleared); a non-nil `hostMACAddress`
    /// replaces the one of `veth`.
    public init(
        veth: PodAttachment, addresses: [IPNetwork], hostRouteProtocol: Netlink.Route.ProtocolTag,
        hostMACAddress: MACAddress? = nil
    ) {
        var veth = veth
        veth.bridge = nil
        if let hostMACAddress { veth.hostMACAddress = hostMACAddress }
        self.veth = veth
        self.addresses = addresses
        self.hostRouteProtocol = hostRouteProtocol
    }

    /// The result this attachment produces (interfaces host end and pod end, /32 addresses
    /// with the link-local gateway, the default route; with IPAM gateways, the addresses with
    /// their gateways and ``podRoutes``).
    public func result(links: PodAttachment.Links, sandbox: String, version: CNIVersion = .latest) -> CNIResult {
        if case .ipam = gatewayMode { return pointToPointResult(links: links, sandbox: sandbox, version: version) }
        return CNIResult(
            cniVersion: version,
            interfaces: [
                CNIResult.Interface(name: links.host.name, mac: links.host.macAddress),
                CNIResult.Interface(name: links.container.name, mac: links.container.macAddress, sandbox: sandbox),
            ],
            ips: addresses.map {
                CNIResult.IPConfiguration(
                    address: Self.hostNetwork($0), gateway: $0.family == .v4 ? Self.gateway : Self.ipv6Gateway, interface: 1)
            },
            routes: (hasIPv4 ? [CNIRoute(destination: Self.defaultIPv4, gateway: Self.gateway)] : [])
                + (hasIPv6 ? [CNIRoute(destination: Self.defaultIPv6, gateway: Self.ipv6Gateway)] : []))
    }

    static func hostNetwork(_ network: IPNetwork) -> IPNetwork { IPNetwork(host: network.address) }
    static let defaultIPv4 = try! IPNetwork(parsing: "0.0.0.0/0")
    var hasIPv4: Bool { addresses.contains { $0.family == .v4 } }

    /// Creates the pair with the host end's MAC and the MTU in the creation request
    /// (``PodAttachment/create(host:pod:)``), then configures the host end (`sysctl
    /// net.ipv4.conf.HOST.proxy_arp=1 net.ipv4.conf.HOST.forwarding=1
    /// net.ipv4.neigh.HOST.proxy_delay=0`), the pod (`ip addr
    /// add A/32 dev eth0; ip neigh replace 169.254.1.1 lladdr HOSTMAC dev eth0 nud permanent;
    /// ip route replace 169.254.1.1 dev eth0 scope link; ip route replace default via
    /// 169.254.1.1 dev eth0`) and the host routes (`ip route replace A/32 dev HOST scope link
    /// proto P`). Routes and the neighbour are replaced, so a retried ADD that meets them
    /// succeeds. Everything is deleted again on failure.
    public func create(host: NetlinkHandle, pod: NetlinkHandle) throws(CNIError) -> PodAttachment.Links {
        if case .ipam(let gateways) = gatewayMode { return try createPointToPoint(gateways: gateways, host: host, pod: pod) }
        let links = try veth.create(host: host, pod: pod)
        do {
            try host.setProxyARP(true, device: veth.hostInterface)
            // Forwarding per device, as Calico does: the node-wide switch copies itself to the
            // devices present when it flips, and a host end moved into the node while a
            // parallel ADD flipped it can keep forwarding off (its pod then reaches only the node).
            try host.setSysctl("net.ipv4.conf.\(veth.hostInterface).forwarding", to: "1")
            // Answer at once instead of after a random delay of up to 0.8 s; only a latency
            // matter, so a kernel without the knob is no error.
            try? host.setSysctl("net.ipv4.neigh.\(veth.hostInterface).proxy_delay", to: "0")
            if hasIPv6 {
                try configureIPv6Host(host: host)
                try configureIPv6Pod(pod: pod)
            }
            let device = veth.containerInterface
            for address in addresses {
                try pod.addAddress(Address(Self.hostNetwork(address)), device: device)
            }
            if hasIPv4 {
                if let mac = links.host.macAddress {
                    try pod.replaceNeighbor(.permanent(Self.gateway, macAddress: mac), device: device)
                }
                // A second attachment of the same pod (Multus' net1) leaves the first one's
                // gateway and default route where they are: its own are added only when the pod
                // has no default route through another interface.
                let others = try pod.routes(family: .v4).contains { route in
                    route.destination == Self.defaultIPv4 && route.nextHops.contains { $0.device != nil && $0.device != device }
                }
                if !others {
                    try pod.replaceRoute(Netlink.Route(destination: IPNetwork(host: Self.gateway), device: device, scope: .link))
                    try pod.replaceRoute(Netlink.Route(destination: Self.defaultIPv4, gateway: Self.gateway, device: device))
                }
            }
            if hasIPv6 { try configureIPv6Routes(links: links, host: host, pod: pod) }
            for address in addresses {
                try host.replaceRoute(
                    Netlink.Route(
                        destination: Self.hostNetwork(address), device: veth.hostInterface, protocolTag: hostRouteProtocol,
                        scope: address.family == .v4 ? .link : .universe))
            }
            return links
        } catch {
            _ = try? veth.remove(host: host)
            throw CNIError(.internal, "failed to set up the routed attachment \(veth.hostInterface)", details: "\(error)")
        }
    }

    /// Deletes the pair; the host routes through it go with the device.
    @discardableResult
    public func remove(host: NetlinkHandle) throws(CNIError) -> Bool { try veth.remove(host: host) }

    /// CHECK (the ``Gateway/ipam(gateways:)`` variant: see ``validatePointToPoint(gateways:host:pod:)``):
    /// the host end exists and is up with a host route per address (`ip route show
    /// proto P`); the pod end exists with every address as /32 (/128) and, for IPv4, the
    /// default route via 169.254.1.1. Failures are ``CheckValidation``-style `CNIError`s (999)
    /// naming the object and the namespace.
    public func validate(host: NetlinkHandle, pod: NetlinkHandle) throws(CNIError) {
        if case .ipam(let gateways) = gatewayMode { return try validatePointToPoint(gateways: gateways, host: host, pod: pod) }
        try CheckValidation.validateHost(hostInterface: veth.hostInterface, bridge: nil, host: host)
        let device = veth.containerInterface
        do {
            guard try pod.linkIfPresent(named: device) != nil else {
                throw CNIError(.internal, "interface \(device) not found in \(pod.namespace)")
            }
            let present = Set(try pod.addresses(device: device).map(\.network))
            for address in addresses.map(Self.hostNetwork) where !present.contains(address) {
                throw CNIError(.internal, "address \(address) not found on \(device) in \(pod.namespace)")
            }
            let hostRoutes = try host.routes(protocolTag: hostRouteProtocol)
            for address in addresses.map(Self.hostNetwork) where !hostRoutes.contains(where: {
                $0.destination == address && $0.nextHops.first?.device == veth.hostInterface
            }) {
                throw CNIError(.internal, "host route \(address) dev \(veth.hostInterface) not found in \(host.namespace)")
            }
            if hasIPv4 {
                let routes = try pod.routes(family: .v4)
                guard routes.contains(where: { $0.destination.prefixLength == 0 && $0.gateway == Self.gateway }) else {
                    throw CNIError(.internal, "default route via \(Self.gateway) not found in \(pod.namespace)")
                }
            }
            if hasIPv6 { try validateIPv6(pod: pod) }
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.internal, "failed to read the routed attachment \(veth.hostInterface)/\(device)", details: "\(error)")
        }
    }
}
