import NetPrimitives

/// A route (`ip route`).
public struct Route: Hashable, Sendable, CustomStringConvertible {
    /// A routing table (`table main`, `table 100`).
    public struct Table: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public init(_ rawValue: UInt32) { self.rawValue = rawValue }
        public static let main = Table(rawValue: 254)
        public static let local = Table(rawValue: 255)
        public static let `default` = Table(rawValue: 253)
        public var description: String { rawValue == 254 ? "main" : rawValue == 255 ? "local" : String(rawValue) }
    }

    /// Who installed a route (`proto N` in `ip route`): owners tag their routes and converge
    /// only routes carrying their tag.
    public struct ProtocolTag: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public init(_ rawValue: UInt8) { self.rawValue = rawValue }
        /// Installed by the kernel (prefix routes of addresses): `proto kernel`.
        public static let kernel = ProtocolTag(rawValue: 2)
        /// The default of `ip route add`: `proto boot`.
        public static let boot = ProtocolTag(rawValue: 3)
        /// `proto static`.
        public static let `static` = ProtocolTag(rawValue: 4)
        public var description: String { String(rawValue) }
    }

    /// The route type (`ip route add TYPE PREFIX`).
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let unicast = Kind(rawValue: 1)
        public static let local = Kind(rawValue: 2)
        public static let broadcast = Kind(rawValue: 3)
        /// Silently drops packets (`blackhole`).
        public static let blackhole = Kind(rawValue: 6)
        /// Drops packets with ICMP unreachable (`unreachable`).
        public static let unreachable = Kind(rawValue: 7)
        /// Drops packets with ICMP prohibited (`prohibit`).
        public static let prohibit = Kind(rawValue: 8)
        public var description: String {
            switch rawValue {
            case 1: "unicast"
            case 2: "local"
            case 3: "broadcast"
            case 6: "blackhole"
            case 7: "unreachable"
            case 8: "prohibit"
            default: String(rawValue)
            }
        }
    }

    /// One next hop (`via GATEWAY dev DEV onlink weight W`; several make an ECMP route:
    /// `nexthop via A dev X nexthop via B dev Y`).
    public struct NextHop: Hashable, Sendable, CustomStringConvertible {
        public var gateway: IPAddress?
        /// The output device by name; in routes read from the kernel it is filled in from
        /// ``deviceIndex``.
        public var device: InterfaceName?
        /// The output device by index (used when ``device`` is nil).
        public var deviceIndex: Int?
        /// Treat the gateway as directly reachable on the device (`onlink`), as VXLAN
        /// overlays route to the remote VTEP address.
        public var isOnLink: Bool
        /// ECMP weight (`weight`), 1...256.
        public var weight: Int

        public init(gateway: IPAddress? = nil, device: InterfaceName? = nil, deviceIndex: Int? = nil,
                    isOnLink: Bool = false, weight: Int = 1) {
            self.gateway = gateway
            self.device = device
            self.deviceIndex = deviceIndex
            self.isOnLink = isOnLink
            self.weight = weight
        }

        public var description: String {
            var text = ""
            if let gateway { text += "via \(gateway) " }
            if let device { text += "dev \(device) " } else if let deviceIndex { text += "dev #\(deviceIndex) " }
            if isOnLink { text += "onlink " }
            if weight != 1 { text += "weight \(weight) " }
            return String(text.dropLast())
        }
    }

    /// The destination prefix (`0.0.0.0/0` or `::/0` for a default route).
    public var destination: IPNetwork
    public var kind: Kind
    public var table: Table
    public var protocolTag: ProtocolTag
    /// nil lets the library choose as `ip` does: `link` for a unicast route without
    /// gateway, `global` otherwise.
    public var scope: Scope?
    /// The preferred source address (`src`).
    public var source: IPAddress?
    /// The metric (`metric`, kernel "priority").
    public var metric: Int?
    public var nextHops: [NextHop]
    /// Path MTU (`mtu`).
    public var mtu: Int?
    /// Advertised TCP MSS (`advmss`).
    public var advertisedMSS: Int?

    public init(
        destination: IPNetwork, gateway: IPAddress? = nil, device: InterfaceName? = nil, isOnLink: Bool = false,
        kind: Kind = .unicast, table: Table = .main, protocolTag: ProtocolTag = .boot, scope: Scope? = nil,
        source: IPAddress? = nil, metric: Int? = nil, nextHops: [NextHop]? = nil, mtu: Int? = nil,
        advertisedMSS: Int? = nil
    ) {
        self.destination = destination
        self.kind = kind
        self.table = table
        self.protocolTag = protocolTag
        self.scope = scope
        self.source = source
        self.metric = metric
        if let nextHops {
            self.nextHops = nextHops
        } else if gateway != nil || device != nil {
            self.nextHops = [NextHop(gateway: gateway, device: device, isOnLink: isOnLink)]
        } else {
            self.nextHops = []
        }
        self.mtu = mtu
        self.advertisedMSS = advertisedMSS
    }

    /// The first next hop's gateway.
    public var gateway: IPAddress? { nextHops.first?.gateway }

    public var description: String {
        var text = kind == .unicast ? "" : "\(kind) "
        text += "\(destination)"
        if nextHops.count == 1 { text += " \(nextHops[0])" } else {
            for hop in nextHops { text += " nexthop \(hop)" }
        }
        if table != .main { text += " table \(table)" }
        text += " proto \(protocolTag)"
        if let scope { text += " scope \(scope)" }
        if let source { text += " src \(source)" }
        if let metric { text += " metric \(metric)" }
        if let mtu { text += " mtu \(mtu)" }
        if let advertisedMSS { text += " advmss \(advertisedMSS)" }
        return text
    }
}
