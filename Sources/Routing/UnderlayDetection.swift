import Netlink
import NetPrimitives

/// How an agent chooses its node's underlay interface and address when none is configured:
/// flannel's options (`--iface`, `--iface-regex`, `--iface-can-reach`, `--public-ip`) and
/// Calico's `IP_AUTODETECTION_METHOD` (`first-found`, `interface=REGEX`, `skip-interface=REGEX`,
/// `can-reach=DEST`, `cidr=CIDR`). Pure: ``choose(in:family:)`` decides on an
/// ``UnderlayInventory`` (read from the kernel with ``UnderlayInventory/read(_:)``).
///
/// Interface regexes are searched for anywhere in the name, as Go's `regexp.MatchString` does
/// (anchor them with `^…$` to match whole names).
public enum UnderlayDetection: Hashable, Sendable {
    /// Calico's `first-found` (and `skip-interface=`): the first valid address of the first
    /// interface, in index order, whose name matches none of Calico's excluded interfaces
    /// (``calicoExcludedInterfaces``) nor `skipping`.
    case firstFound(skipping: [String] = [])
    /// Calico's `interface=REGEX[,REGEX…]`: the first valid address of the first interface whose
    /// name matches one of the regexes.
    case interfaces(matching: [String])
    /// Calico's `can-reach=DEST`, flannel's `--iface-can-reach`: the interface of the route to
    /// `DEST` and the source address the kernel would use.
    case canReach(IPAddress)
    /// Calico's `cidr=CIDR[,CIDR…]`: the first address inside one of the networks, on an
    /// interface not excluded.
    case cidrs([IPNetwork])
    /// flannel's interface options.
    case flannel(FlannelInterfaceOptions)

    /// Calico's excluded interfaces for `first-found` and `cidr=` (its defaults: container
    /// bridges, veths, loopback and the CNI devices).
    public static let calicoExcludedInterfaces = [
        "^docker.*", "^cbr.*", "^dummy.*", "^virbr.*", "^lxcbr.*", "^veth.*", "^lo$", "^cali.*", "^tunl.*", "^flannel.*",
        "^kube-ipvs.*", "^cni.*", "^vxlan.calico.*", "^vxlan-v6.calico.*", "^wireguard.cali.*", "^wg-v6.cali.*",
        "^nodelocaldns.*", "^podman.*",
    ]

    /// Parses Calico's `IP_AUTODETECTION_METHOD` (empty: `first-found`). A hostname in
    /// `can-reach=` is refused: only addresses are supported.
    public init(calicoMethod text: String) throws(NetlinkError) {
        func values(_ prefix: String) -> [String] {
            text.dropFirst(prefix.count).split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        }
        func invalid(_ why: String) -> NetlinkError {
            NetlinkError(.invalidArgument, operation: "IP autodetection method \"\(text)\": \(why)")
        }
        if text.isEmpty || text == "first-found" {
            self = .firstFound()
        } else if text.hasPrefix("interface=") {
            let patterns = values("interface=")
            guard !patterns.isEmpty else { throw invalid("no interface regex") }
            try Self.validate(patterns, invalid)
            self = .interfaces(matching: patterns)
        } else if text.hasPrefix("skip-interface=") {
            let patterns = values("skip-interface=")
            guard !patterns.isEmpty else { throw invalid("no interface regex") }
            try Self.validate(patterns, invalid)
            self = .firstFound(skipping: patterns)
        } else if text.hasPrefix("can-reach=") {
            guard let address = IPAddress(String(text.dropFirst("can-reach=".count))) else {
                throw invalid("the destination is not an IP address (hostnames are not supported)")
            }
            self = .canReach(address)
        } else if text.hasPrefix("cidr=") {
            var networks: [IPNetwork] = []
            for value in values("cidr=") {
                guard let network = IPNetwork(value) else { throw invalid("\(value) is not a CIDR") }
                networks.append(network)
            }
            guard !networks.isEmpty else { throw invalid("no CIDR") }
            self = .cidrs(networks)
        } else {
            throw invalid("expected first-found, interface=REGEX, skip-interface=REGEX, can-reach=DEST or cidr=CIDR")
        }
    }

    static func validate(_ patterns: [String], _ invalid: (String) -> NetlinkError) throws(NetlinkError) {
        for pattern in patterns where (try? Regex(pattern)) == nil { throw invalid("\(pattern) is not a valid regex") }
    }

    /// The interface and address of `family` this method chooses on `inventory`; a
    /// `.notFound` `NetlinkError` that lists the interfaces when nothing fits.
    public func choose(in inventory: UnderlayInventory, family: IPAddress.Family = .v4) throws(NetlinkError) -> UnderlayChoice {
        let candidates = inventory.interfaces.sorted { $0.index < $1.index }
        func notFound(_ what: String) -> NetlinkError {
            let seen = candidates.map { "\($0.name) \($0.addresses.map(\.description).joined(separator: " "))" }.joined(separator: "; ")
            return NetlinkError(.notFound, operation: "no underlay interface \(what) (interfaces: \(seen))")
        }
        switch self {
        case .firstFound(let skipping):
            let excluded = Self.calicoExcludedInterfaces + skipping
            for interface in candidates where !Self.matches(interface.name, excluded) {
                if let address = interface.validAddresses(family).first { return UnderlayChoice(interface, address) }
            }
            throw notFound("with a valid IPv\(family == .v4 ? 4 : 6) address outside Calico's excluded interfaces")
        case .interfaces(let patterns):
            for interface in candidates where Self.matches(interface.name, patterns) {
                if let address = interface.validAddresses(family).first { return UnderlayChoice(interface, address) }
            }
            throw notFound("matching \(patterns.joined(separator: ",")) with an IPv\(family == .v4 ? 4 : 6) address")
        case .canReach(let destination):
            guard let (interface, source) = inventory.route(to: destination) else { throw notFound("routes to \(destination)") }
            return UnderlayChoice(interface, source)
        case .cidrs(let networks):
            for interface in candidates where !Self.matches(interface.name, Self.calicoExcludedInterfaces) {
                if let address = interface.validAddresses(family).first(where: { address in networks.contains { $0.contains(address.address) } }) {
                    return UnderlayChoice(interface, address)
                }
            }
            throw notFound("has an address in \(networks.map(\.description).joined(separator: ","))")
        case .flannel(let options):
            return try options.choose(in: inventory, family: family, candidates: candidates, notFound: notFound)
        }
    }

    /// Whether one of `patterns` is found in `name` (an invalid pattern matches nothing).
    static func matches(_ name: String, _ patterns: [String]) -> Bool {
        patterns.contains { pattern in (try? Regex(pattern)).map { name.contains($0) } ?? false }
    }
}

/// flannel's interface options, in flannel's order: each `--iface` (a name or an address of
/// the node), then each `--iface-regex` (matched against interface names, then against the
/// addresses of each interface), then `--iface-can-reach`, else the interface of the default
/// route. `--public-ip` is the address announced to the other nodes (default: the chosen
/// interface's); with no other option, the interface holding it is chosen when there is one.
public struct FlannelInterfaceOptions: Hashable, Sendable {
    public var interfaces: [String]
    public var regexes: [String]
    public var canReach: IPAddress?
    public var publicIP: IPAddress?

    public init(interfaces: [String] = [], regexes: [String] = [], canReach: IPAddress? = nil, publicIP: IPAddress? = nil) {
        self.interfaces = interfaces
        self.regexes = regexes
        self.canReach = canReach
        self.publicIP = publicIP
    }

    func choose(
        in inventory: UnderlayInventory, family: IPAddress.Family, candidates: [UnderlayInterface],
        notFound: (String) -> NetlinkError
    ) throws(NetlinkError) -> UnderlayChoice {
        var choice = try interface(in: inventory, family: family, candidates: candidates, notFound: notFound)
        if let publicIP { choice.publicAddress = publicIP }
        return choice
    }

    private func interface(
        in inventory: UnderlayInventory, family: IPAddress.Family, candidates: [UnderlayInterface],
        notFound: (String) -> NetlinkError
    ) throws(NetlinkError) -> UnderlayChoice {
        for option in interfaces {
            if let address = IPAddress(option) {
                for interface in candidates {
                    if let held = interface.addresses.first(where: { $0.address == address }) { return UnderlayChoice(interface, held) }
                }
            } else if let interface = candidates.first(where: { $0.name == option }), let address = interface.validAddresses(family).first {
                return UnderlayChoice(interface, address)
            }
        }
        for pattern in regexes {
            for interface in candidates where UnderlayDetection.matches(interface.name, [pattern]) {
                if let address = interface.validAddresses(family).first { return UnderlayChoice(interface, address) }
            }
            for interface in candidates {
                if let address = interface.validAddresses(family).first(where: { UnderlayDetection.matches($0.address.description, [pattern]) }) {
                    return UnderlayChoice(interface, address)
                }
            }
        }
        if !interfaces.isEmpty || !regexes.isEmpty {
            throw notFound("matches --iface \(interfaces.joined(separator: ",")) or --iface-regex \(regexes.joined(separator: ","))")
        }
        if let canReach {
            guard let (interface, source) = inventory.route(to: canReach) else { throw notFound("routes to \(canReach)") }
            return UnderlayChoice(interface, source)
        }
        if let publicIP {
            for interface in candidates {
                if let held = interface.addresses.first(where: { $0.address == publicIP }) { return UnderlayChoice(interface, held) }
            }
        }
        let any: IPAddress = family == .v4 ? "0.0.0.0" : "::"
        guard let (interface, source) = inventory.route(to: any) else { throw notFound("holds a default route") }
        return UnderlayChoice(interface, source)
    }
}

/// The interface and address chosen (``UnderlayDetection/choose(in:family:)``).
public struct UnderlayChoice: Hashable, Sendable {
    public var interface: InterfaceName
    public var interfaceIndex: Int
    /// The interface's MTU.
    public var mtu: Int
    /// The chosen address with its prefix length (`192.168.0.11/24`).
    public var address: IPNetwork
    /// The address other nodes reach this one at: ``address``'s, or flannel's `--public-ip`.
    public var publicAddress: IPAddress

    init(_ interface: UnderlayInterface, _ address: IPNetwork) {
        self.interface = (try? InterfaceName(interface.name)) ?? "eth0"
        interfaceIndex = interface.index
        mtu = interface.mtu
        self.address = address
        publicAddress = address.address
    }

    /// The pod MTU: the interface's MTU minus the encapsulation's overhead (with an
    /// underlay of ``publicAddress``'s family).
    public func podMTU(_ encapsulation: Encapsulation) -> Int { mtu - encapsulation.overhead(underlay: publicAddress.family) }
}

/// What an encapsulation adds to each packet, the bytes a pod's MTU gives up.
public enum Encapsulation: String, Hashable, Sendable, CaseIterable {
    /// Routed (BGP, host-gw): nothing.
    case none
    /// VXLAN: outer IP (20 or 40), UDP (8), VXLAN (8) and inner Ethernet (14): 50 on IPv4, 70 on IPv6.
    case vxlan
    /// IP in IP: 20 on IPv4 (40 on IPv6).
    case ipip
    /// WireGuard: 60 on IPv4, 80 on IPv6.
    case wireguard

    public func overhead(underlay family: IPAddress.Family) -> Int {
        let ip = family == .v4 ? 20 : 40
        switch self {
        case .none: return 0
        case .vxlan: return ip + 30
        case .ipip: return ip
        case .wireguard: return ip + 40
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
