import CNISpec
import Netlink
import NetPrimitives

/// A routed pod attachment, Calico's data path: no bridge. The pod gets its addresses as /32,
/// a link-scope route to the fixed gateway 169.254.1.1 and a default route through it; the
/// host end answers ARP for that gateway by proxy ARP, and the host routes each pod address
/// to the host end (`ip route add POD/32 dev cali… scope link proto P`). Proxy ARP answers only
/// when the node forwards IPv4 and has a route for 169.254.1.1 (its default route): both are
/// the node agent's business, not this attachment's.
///
/// ```swift
/// let veth = PodAttachment(containerID: "c1", interfaceName: "eth0", podNamespace: pod,
///                          hostInterface: PodInterfaceNaming.hostInterfaceName(containerID: "c1", interfaceName: "eth0", prefix: "cali"))
/// let routed = PodRoutedAttachment(veth: veth, addresses: [try IPNetwork(parsing: "10.65.0.7/32")], hostRouteProtocol: Route.ProtocolTag(rawValue: 92))
/// let links = try routed.create(host: nodeHandle, pod: podHandle)
/// ```
public struct PodRoutedAttachment: Sendable {
    /// The gateway every routed pod uses; it exists only as proxy ARP on the host end.
    public static let gateway = try! IPAddress(parsing: "169.254.1.1")

    /// The veth pair (its ``PodAttachment/bridge`` is ignored: routed ends join no bridge).
    public var veth: PodAttachment
    /// The pod's addresses; each is installed as a host address (/32 or /128).
    public var addresses: [IPNetwork]
    /// The protocol number the host routes carry, so their owner can find them.
    public var hostRouteProtocol: Netlink.Route.ProtocolTag
    /// The host end's MAC address (Calico uses ee:ee:ee:ee:ee:ee); nil keeps a random one.
    public var hostMACAddress: MACAddress?

    /// A routed attachment over `veth` (whose bridge is cleared).
    public init(
        veth: PodAttachment, addresses: [IPNetwork], hostRouteProtocol: Netlink.Route.ProtocolTag,
        hostMACAddress: MACAddress? = nil
    ) {
        var veth = veth
        veth.bridge = nil
        self.veth = veth
        self.addresses = addresses
        self.hostRouteProtocol = hostRouteProtocol
        self.hostMACAddress = hostMACAddress
    }

    /// The result this attachment produces (interfaces host end and pod end, /32 addresses
    /// with the link-local gateway, the default route).
    public func result(links: PodAttachment.Links, sandbox: String, version: CNIVersion = .latest) -> CNIResult {
        CNIResult(
            cniVersion: version,
            interfaces: [
                CNIResult.Interface(name: links.host.name, mac: links.host.macAddress),
                CNIResult.Interface(name: links.container.name, mac: links.container.macAddress, sandbox: sandbox),
            ],
            ips: addresses.filter { $0.family == .v4 }.map {
                CNIResult.IPConfiguration(address: Self.hostNetwork($0), gateway: Self.gateway, interface: 1)
            },
            routes: [CNISpec.Route(destination: try! IPNetwork(parsing: "0.0.0.0/0"), gateway: Self.gateway)])
    }

    static func hostNetwork(_ network: IPNetwork) -> IPNetwork { IPNetwork(host: network.address) }

    /// Creates the pair, configures the pod (`ip addr add A/32 dev eth0; ip route add
    /// 169.254.1.1 dev eth0 scope link; ip route add default via 169.254.1.1 dev eth0`) and the
    /// host (`sysctl net.ipv4.conf.HOST.proxy_arp=1; ip route add A/32 dev HOST scope link proto P`).
    /// Everything is deleted again on failure.
    public func create(host: NetlinkHandle, pod: NetlinkHandle) throws(CNIError) -> PodAttachment.Links {
        var links = try veth.create(host: host, pod: pod)
        do {
            if let hostMACAddress {
                try host.setMACAddress(hostMACAddress, of: veth.hostInterface)
                links.host = try host.link(named: veth.hostInterface)
            }
            try host.setProxyARP(true, device: veth.hostInterface)
            let device = veth.containerInterface
            for address in addresses {
                try pod.addAddress(Address(Self.hostNetwork(address)), device: device)
            }
            if addresses.contains(where: { $0.family == .v4 }) {
                try pod.addRoute(Netlink.Route(destination: IPNetwork(host: Self.gateway), device: device, scope: .link))
                try pod.addRoute(Netlink.Route(destination: try IPNetwork(parsing: "0.0.0.0/0"), gateway: Self.gateway, device: device))
            }
            for address in addresses {
                try host.replaceRoute(
                    Netlink.Route(
                        destination: Self.hostNetwork(address), device: veth.hostInterface, protocolTag: hostRouteProtocol,
                        scope: .link))
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
}
