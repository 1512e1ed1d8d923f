import NetPrimitives

/// A network device as the kernel reports it (`ip -d link show`).
public struct Link: Hashable, Sendable, CustomStringConvertible {
    /// The device kind (`ip -d link` "linkinfo.info_kind"): an open set of names.
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        public static let veth = Kind(rawValue: "veth")
        public static let bridge = Kind(rawValue: "bridge")
        public static let vxlan = Kind(rawValue: "vxlan")
        public static let macvlan = Kind(rawValue: "macvlan")
    }

    /// RFC 2863 operational state (`ip link` "operstate").
    public enum OperationalState: String, Hashable, Sendable {
        case unknown, notPresent, down, lowerLayerDown, testing, dormant, up
    }

    /// The interface index (`ifindex`).
    public var index: Int
    public var name: String
    /// nil for devices without a kind (loopback, physical devices).
    public var kind: Kind?
    /// Administratively up (`ip link set DEV up`).
    public var isUp: Bool
    /// The carrier is present (IFF_LOWER_UP).
    public var hasCarrier: Bool
    public var operationalState: OperationalState
    public var mtu: Int
    public var macAddress: MACAddress?
    /// The index of the bridge this device is a port of (`master`).
    public var masterIndex: Int?
    /// The parent device (`@eth0` in `ip link`: a veth's peer, a macvlan's lower device).
    public var parentIndex: Int?
    /// The peer's namespace id, when the parent lives in another namespace (`link-netnsid`).
    public var parentNamespaceID: Int?
    /// VXLAN settings, for `kind == .vxlan`.
    public var vxlan: VXLANOptions?
    /// Bridge settings, for `kind == .bridge`.
    public var bridge: BridgeOptions?
    /// The macvlan mode, for `kind == .macvlan`.
    public var macvlanMode: MacvlanMode?
    /// Hairpin mode of a bridge port (`bridge link` "hairpin"), nil when not a bridge port.
    public var isHairpin: Bool?
    /// Whether this bridge port is isolated: it forwards only to non-isolated ports (`bridge
    /// link set dev NAME isolated on`); nil when not a bridge port.
    public var isIsolated: Bool?

    /// ``name`` as a validated interface name, to pass back to other operations.
    public var interfaceName: InterfaceName? { try? InterfaceName(name) }

    public var description: String { "\(index): \(name)" + (kind.map { " (\($0))" } ?? "") }
}

/// Bridge device options (`ip link add NAME type bridge vlan_filtering 0`).
public struct BridgeOptions: Hashable, Sendable {
    /// 802.1Q VLAN filtering; off by default, as CNI bridges use it.
    public var vlanFiltering: Bool
    public init(vlanFiltering: Bool = false) { self.vlanFiltering = vlanFiltering }
}

/// macvlan modes (`ip link add ... type macvlan mode bridge`).
public enum MacvlanMode: String, Hashable, Sendable {
    case `private`, vepa, bridge, passthrough

    var kernelValue: UInt32 {
        switch self {
        case .private: 1
        case .vepa: 2
        case .bridge: 4
        case .passthrough: 8
        }
    }

    init?(kernelValue: UInt32) {
        switch kernelValue {
        case 1: self = .private
        case 2: self = .vepa
        case 4: self = .bridge
        case 8: self = .passthrough
        default: return nil
        }
    }
}

/// VXLAN device options (`ip link add NAME type vxlan id VNI local IP dev DEV dstport PORT
/// nolearning gbp ttl N udpcsum`).
public struct VXLANOptions: Hashable, Sendable {
    /// The VXLAN network identifier (`id`), 0...16777215.
    public var identifier: UInt32
    /// The source address of outer packets (`local`).
    public var localAddress: IPAddress?
    /// The underlay device by index (`dev`); set by name through ``underlayDevice``.
    public var underlayIndex: Int?
    /// The underlay device by name (`dev`), resolved when the link is created.
    public var underlayDevice: InterfaceName?
    /// The UDP destination port (`dstport`); the kernel default is 8472, flannel uses 8472 too.
    public var port: UInt16?
    /// Learn remote MACs from received packets (`learning`/`nolearning`).
    public var learning: Bool
    /// Group-based policy extension (`gbp`), as Calico and flannel's `GBP` option use.
    public var groupPolicy: Bool
    /// The outer TTL (`ttl`); nil for the kernel default (inherit 0 = use route default).
    public var timeToLive: UInt8?
    /// UDP checksums on outer IPv4 packets (`udpcsum`).
    public var udpChecksum: Bool

    public init(
        identifier: UInt32, localAddress: IPAddress? = nil, underlayDevice: InterfaceName? = nil,
        port: UInt16? = 8472, learning: Bool = false, groupPolicy: Bool = false,
        timeToLive: UInt8? = nil, udpChecksum: Bool = false
    ) {
        self.identifier = identifier
        self.localAddress = localAddress
        self.underlayDevice = underlayDevice
        self.port = port
        self.learning = learning
        self.groupPolicy = groupPolicy
        self.timeToLive = timeToLive
        self.udpChecksum = udpChecksum
    }
}
