import Netlink
import NetPrimitives

/// The type of one key (or map value) component of a named set or map, named like `nft` does.
public enum NftablesDataType: String, Hashable, Sendable, CaseIterable {
    /// `ipv4_addr`
    case ipv4Address = "ipv4_addr"
    /// `ipv6_addr`
    case ipv6Address = "ipv6_addr"
    /// `inet_service`: a TCP/UDP port.
    case port = "inet_service"
    /// `ifname`: an interface name.
    case interfaceName = "ifname"
    /// `mark`: a packet mark.
    case mark
    /// `inet_proto`: an L4 protocol number.
    case l4Protocol = "inet_proto"

    /// nftables' datatype number (stored with the set so `nft list` prints the type).
    var typeNumber: UInt32 {
        switch self {
        case .ipv4Address: 7
        case .ipv6Address: 8
        case .port: 13
        case .interfaceName: 41
        case .mark: 19
        case .l4Protocol: 12
        }
    }

    /// Bytes of one value in a register.
    var length: Int {
        switch self {
        case .ipv4Address: 4
        case .ipv6Address: 16
        case .port: 2
        case .interfaceName: 16
        case .mark: 4
        case .l4Protocol: 1
        }
    }

    /// Whether the value is big-endian (network order) in registers; marks are host order.
    var isNetworkOrder: Bool { self != .mark }

    init?(typeNumber: UInt32) {
        guard let type = Self.allCases.first(where: { $0.typeNumber == typeNumber }) else { return nil }
        self = type
    }

    /// Concatenated types are stored as one number, 6 bits per component.
    static func concatenatedNumber(_ types: [NftablesDataType]) -> UInt32 {
        types.reduce(0) { ($0 << 6) | $1.typeNumber }
    }

    static func split(concatenatedNumber number: UInt32) -> [NftablesDataType]? {
        var remaining = number
        var types: [NftablesDataType] = []
        while remaining != 0 {
            guard let type = NftablesDataType(typeNumber: remaining & 0x3F) else { return nil }
            types.insert(type, at: 0)
            remaining >>= 6
        }
        return types.isEmpty ? nil : types
    }
}

/// What the elements of a map point to.
public enum NftablesMapData: Hashable, Sendable {
    /// A verdict map (`type ifname : verdict`), used with ``NftablesStatement/verdictMap(_:map:)``.
    case verdict
    /// A value of a data type (`type ipv4_addr : ipv4_addr`).
    case value(NftablesDataType)
}

/// A named set or map in a table.
///
/// `nft add set inet t allowed { type ipv4_addr; flags interval; }`,
/// `nft add map inet t dispatch { type ifname : verdict; }`
public struct NftablesSet: Hashable, Sendable, CustomStringConvertible {
    public var table: NftablesTable
    public var name: String
    /// The key's component types; more than one makes a concatenation (`ipv4_addr . inet_service`).
    public var keyType: [NftablesDataType]
    /// Present for a map: what each key maps to.
    public var mapData: NftablesMapData?
    /// `flags interval`: elements may be prefixes and ranges.
    public var isInterval: Bool

    public init(
        table: NftablesTable, name: String, keyType: [NftablesDataType], mapData: NftablesMapData? = nil,
        isInterval: Bool = false
    ) {
        self.table = table
        self.name = name
        self.keyType = keyType
        self.mapData = mapData
        self.isInterval = isInterval
    }

    /// A set whose key is one type.
    public init(table: NftablesTable, name: String, keyType: NftablesDataType, isInterval: Bool = false) {
        self.init(table: table, name: name, keyType: [keyType], isInterval: isInterval)
    }

    /// Whether this is a map (`nft add map`) rather than a set.
    public var isMap: Bool { mapData != nil }

    public var description: String { "\(table) \(name)" }

    /// Key length in bytes: each component of a concatenation takes whole 32-bit words.
    var keyLength: Int {
        keyType.count == 1 ? keyType[0].length : keyType.reduce(0) { $0 + ($1.length + 3) / 4 * 4 }
    }
}

/// The verdict of a rule or a verdict-map element.
public enum NftablesVerdict: Hashable, Sendable, CustomStringConvertible {
    case accept
    case drop
    /// Return to the calling chain (or apply the policy in a base chain).
    case `return`
    /// Continue in the named chain, then come back.
    case jump(String)
    /// Continue in the named chain without coming back.
    case goto(String)

    public var description: String {
        switch self {
        case .accept: "accept"
        case .drop: "drop"
        case .return: "return"
        case .jump(let chain): "jump \(chain)"
        case .goto(let chain): "goto \(chain)"
        }
    }

    /// Kernel verdict code (NF_DROP, NF_ACCEPT, NFT_RETURN, NFT_JUMP, NFT_GOTO).
    var code: Int32 {
        switch self {
        case .accept: 1
        case .drop: 0
        case .return: -5
        case .jump: -3
        case .goto: -4
        }
    }

    var chain: String? {
        switch self {
        case .jump(let chain), .goto(let chain): chain
        default: nil
        }
    }

    init?(code: Int32, chain: String?) {
        switch code {
        case 1: self = .accept
        case 0: self = .drop
        case -5: self = .return
        case -3: self = .jump(chain ?? "")
        case -4: self = .goto(chain ?? "")
        default: return nil
        }
    }
}

/// One element of a set or map: the key (one value per key component) and, for a map, its data.
///
/// `nft add element inet t allowed { 10.0.0.0/8 }`,
/// `nft add element inet t dispatch { "eth0" : jump from_eth0 }`
public struct NftablesSetElement: Hashable, Sendable, CustomStringConvertible {
    /// What a map element points to.
    public enum Data: Hashable, Sendable {
        case verdict(NftablesVerdict)
        case value(NftablesValue)
    }

    public var key: [NftablesValue]
    public var data: Data?

    public init(_ key: NftablesValue, data: Data? = nil) {
        self.key = [key]
        self.data = data
    }

    public init(concatenation key: [NftablesValue], data: Data? = nil) {
        self.key = key
        self.data = data
    }

    /// A verdict-map element.
    public init(_ key: NftablesValue, verdict: NftablesVerdict) {
        self.init(key, data: .verdict(verdict))
    }

    /// `10.0.0.0/8`, `1.2.3.4 . 80`, `"eth0" : jump c`, as `nft` writes it.
    public var description: String {
        let keyText = key.map(\.description).joined(separator: " . ")
        switch data {
        case nil: return keyText
        case .verdict(let verdict): return "\(keyText) : \(verdict)"
        case .value(let value): return "\(keyText) : \(value)"
        }
    }
}
