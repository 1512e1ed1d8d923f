import Netlink
import NetPrimitives

/// The node's underlay as agents find it when none is configured: the first IPv4 address of
/// global scope that is not on loopback, and its interface (swift-calico-node's node address,
/// swift-canald's `--iface`).
public struct NodeUnderlay: Hashable, Sendable {
    public var interface: InterfaceName
    /// The address with its prefix length (`192.168.0.11/24`).
    public var address: IPNetwork

    public init(interface: InterfaceName, address: IPNetwork) {
        self.interface = interface
        self.address = address
    }

    /// The address alone.
    public var ipv4Address: IPv4Address? {
        if case .v4(let v4) = address.address { return v4 }
        return nil
    }

    /// Detects the underlay in the namespace `netlink` is bound to; nil when no interface
    /// holds a global IPv4 address.
    public static func detect(_ netlink: NetlinkHandle) throws -> NodeUnderlay? {
        let links = try netlink.links()
        for entry in try netlink.addresses(family: .v4) where entry.scope == .universe {
            guard case .v4(let v4) = entry.network.address, !"\(v4)".hasPrefix("127."),
                let link = links.first(where: { $0.index == entry.linkIndex }), link.name != "lo", let name = link.interfaceName
            else { continue }
            return NodeUnderlay(interface: name, address: entry.network)
        }
        return nil
    }

    /// The IPv4 addresses of `interface`, what a policy agent lets reach the node's own pods.
    public static func addresses(of interface: InterfaceName, _ netlink: NetlinkHandle) throws -> [IPAddress] {
        try netlink.addresses(family: .v4, device: interface).map(\.network.address)
    }
}
