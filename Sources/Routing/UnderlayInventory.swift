import Netlink
import NetPrimitives

/// One interface as underlay autodetection sees it.
public struct UnderlayInterface: Hashable, Sendable {
    public var index: Int
    public var name: String
    public var mtu: Int
    /// Its global-scope addresses in the kernel's order (the primary address of each subnet
    /// before its secondaries).
    public var addresses: [IPNetwork]

    public init(index: Int, name: String, mtu: Int, addresses: [IPNetwork]) {
        self.index = index
        self.name = name
        self.mtu = mtu
        self.addresses = addresses
    }

    /// The addresses of `family` a node may use: not loopback, not link-local.
    public func validAddresses(_ family: IPAddress.Family) -> [IPNetwork] {
        addresses.filter { network in
            let address = network.address
            guard address.family == family else { return false }
            let excluded: [IPNetwork] = family == .v4 ? ["127.0.0.0/8", "169.254.0.0/16"] : ["::1/128", "fe80::/10"]
            return !excluded.contains { $0.contains(address) }
        }
    }
}

/// A unicast route of the main table, for the route lookups of autodetection.
public struct UnderlayRoute: Hashable, Sendable {
    public var destination: IPNetwork
    public var interfaceIndex: Int
    public var gateway: IPAddress?
    /// The route's preferred source (`src`).
    public var source: IPAddress?
    public var metric: Int

    public init(destination: IPNetwork, interfaceIndex: Int, gateway: IPAddress? = nil, source: IPAddress? = nil, metric: Int = 0) {
        self.destination = destination
        self.interfaceIndex = interfaceIndex
        self.gateway = gateway
        self.source = source
        self.metric = metric
    }
}

/// The interfaces (up, with their addresses) and main-table routes of a node: what
/// ``UnderlayDetection`` decides on.
public struct UnderlayInventory: Hashable, Sendable {
    public var interfaces: [UnderlayInterface]
    public var routes: [UnderlayRoute]

    public init(interfaces: [UnderlayInterface], routes: [UnderlayRoute]) {
        self.interfaces = interfaces
        self.routes = routes
    }

    /// The interface and source address of the route to `destination`, as the kernel picks
    /// them: the longest matching prefix (lowest metric among equals) through an interface
    /// that is listed; the source is the route's `src`, else the interface's first address
    /// whose subnet holds the gateway (or the destination), else its first address of the family.
    public func route(to destination: IPAddress) -> (interface: UnderlayInterface, source: IPNetwork)? {
        let matching = routes.filter { route in
            route.destination.family == destination.family && route.destination.contains(destination)
                && interfaces.contains { $0.index == route.interfaceIndex }
        }
        guard let best = matching.min(by: { ($0.destination.prefixLength, -$0.metric) > ($1.destination.prefixLength, -$1.metric) }),
            let interface = interfaces.first(where: { $0.index == best.interfaceIndex })
        else { return nil }
        let own = interface.validAddresses(destination.family)
        if let source = best.source {
            for candidate in interfaces {
                if let held = candidate.addresses.first(where: { $0.address == source }) { return (interface, held) }
            }
        }
        let next = best.gateway ?? destination
        guard let source = own.first(where: { $0.contains(next) }) ?? own.first else { return nil }
        return (interface, source)
    }

    /// Reads the interfaces that are up (with their global addresses) and the main table's
    /// unicast routes of the namespace `netlink` is bound to.
    public static func read(_ netlink: NetlinkHandle) throws -> UnderlayInventory {
        let addresses = try netlink.addresses().filter { $0.scope == .universe }
        let interfaces = try netlink.links().filter(\.isUp).map { link in
            UnderlayInterface(
                index: link.index, name: link.name, mtu: link.mtu,
                addresses: addresses.filter { $0.linkIndex == link.index }.map(\.network))
        }
        let routes = try netlink.routes(table: .main).filter { $0.kind == .unicast }.compactMap { route -> UnderlayRoute? in
            guard let hop = route.nextHops.first, let index = hop.deviceIndex else { return nil }
            return UnderlayRoute(destination: route.destination, interfaceIndex: index, gateway: hop.gateway, source: route.source, metric: route.metric ?? 0)
        }
        return UnderlayInventory(interfaces: interfaces, routes: routes)
    }
}
