import NetPrimitives

/// A neighbour entry (`ip neigh`: ARP/NDP) or a bridge forwarding entry (`bridge fdb`).
public struct Neighbor: Hashable, Sendable, CustomStringConvertible {
    /// The table an entry lives in.
    public enum Family: Hashable, Sendable {
        /// ARP (`ip -4 neigh`).
        case ipv4
        /// NDP (`ip -6 neigh`).
        case ipv6
        /// The bridge/VXLAN forwarding database (`bridge fdb`).
        case bridge
    }

    /// Neighbour states (`ip neigh` "PERMANENT", "REACHABLE", ...).
    public struct State: OptionSet, Hashable, Sendable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let incomplete = State(rawValue: 0x01)
        public static let reachable = State(rawValue: 0x02)
        public static let stale = State(rawValue: 0x04)
        public static let delay = State(rawValue: 0x08)
        public static let probe = State(rawValue: 0x10)
        public static let failed = State(rawValue: 0x20)
        public static let noARP = State(rawValue: 0x40)
        /// Never expires (`nud permanent`, `bridge fdb ... permanent`).
        public static let permanent = State(rawValue: 0x80)
    }

    /// Entry flags.
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// An FDB entry of the device itself, e.g. a VXLAN device's remote VTEP entry (`self`).
        public static let `self` = Flags(rawValue: 0x02)
        /// An FDB entry of the bridge the device is a port of (`master`).
        public static let master = Flags(rawValue: 0x04)
        /// A proxy ARP/NDP entry (`ip neigh add proxy ADDRESS dev DEV`).
        public static let proxy = Flags(rawValue: 0x08)
        public static let externallyLearned = Flags(rawValue: 0x10)
        /// The neighbour is a router (`router`, IPv6).
        public static let router = Flags(rawValue: 0x80)
    }

    public var family: Family
    /// The IP address (`ip neigh` destination); for an FDB entry, the remote VTEP (`dst`).
    public var address: IPAddress?
    /// The link-layer address (`lladdr`); absent on proxy entries.
    public var macAddress: MACAddress?
    public var state: State
    public var flags: Flags
    /// The device's index, as reported by the kernel; ignored in requests, which name the
    /// device explicitly.
    public var linkIndex: Int

    public init(family: Family, address: IPAddress?, macAddress: MACAddress?, state: State = .permanent,
                flags: Flags = [], linkIndex: Int = 0) {
        self.family = family
        self.address = address
        self.macAddress = macAddress
        self.state = state
        self.flags = flags
        self.linkIndex = linkIndex
    }

    /// A permanent ARP (IPv4) or NDP (IPv6) entry (`ip neigh add ADDRESS lladdr MAC nud permanent`).
    public static func permanent(_ address: IPAddress, macAddress: MACAddress) -> Neighbor {
        Neighbor(family: address.family == .v4 ? .ipv4 : .ipv6, address: address, macAddress: macAddress)
    }

    /// A proxy entry: answer ARP/NDP for `address` on the device (`ip neigh add proxy ADDRESS`).
    public static func proxy(_ address: IPAddress) -> Neighbor {
        Neighbor(family: address.family == .v4 ? .ipv4 : .ipv6, address: address, macAddress: nil, flags: .proxy)
    }

    /// A VXLAN forwarding entry as flannel programs one per remote node: frames for
    /// `macAddress` go to the VTEP at `destination`
    /// (`bridge fdb append MAC dev VXLAN dst DESTINATION self permanent`).
    public static func forwardingEntry(_ macAddress: MACAddress, destination: IPAddress?, flags: Flags = .self) -> Neighbor {
        Neighbor(family: .bridge, address: destination, macAddress: macAddress, flags: flags)
    }

    public var description: String {
        var text = address.map { "\($0)" } ?? ""
        if let macAddress { text += " lladdr \(macAddress)" }
        if flags.contains(.proxy) { text = "proxy " + text }
        return text.trimmingPrefix(" ") + " (\(family))"
    }
}

extension String {
    fileprivate func trimmingPrefix(_ prefix: Character) -> String {
        first == prefix ? String(dropFirst()) : self
    }
}
