/// An IP protocol number as carried in the IPv4 protocol / IPv6 next-header field
/// (`meta l4proto` in nftables).
public struct TransportProtocol: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var number: UInt8
    public init(number: UInt8) { self.number = number }

    public static let icmp = TransportProtocol(number: 1)
    public static let tcp = TransportProtocol(number: 6)
    public static let udp = TransportProtocol(number: 17)
    public static let icmpv6 = TransportProtocol(number: 58)
    public static let sctp = TransportProtocol(number: 132)
    public static let udpLite = TransportProtocol(number: 136)

    /// Whether packets of this protocol carry 16-bit source and destination ports.
    public var hasPorts: Bool { self == .tcp || self == .udp || self == .sctp || self == .udpLite }

    /// Parses a protocol name (case-insensitive: TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite) or number.
    public init?(name: String) {
        switch name.uppercased() {
        case "TCP": self = .tcp
        case "UDP": self = .udp
        case "SCTP": self = .sctp
        case "ICMP": self = .icmp
        case "ICMPV6": self = .icmpv6
        case "UDPLITE": self = .udpLite
        default:
            guard let number = UInt8(name), number > 0 else { return nil }
            self.init(number: number)
        }
    }

    public var description: String {
        switch self {
        case .tcp: "TCP"
        case .udp: "UDP"
        case .sctp: "SCTP"
        case .icmp: "ICMP"
        case .icmpv6: "ICMPv6"
        case .udpLite: "UDPLite"
        default: "\(number)"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.number < rhs.number }
}

/// A closed range of transport ports, `80...80` for a single port.
public struct PortRange: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var lowerBound: UInt16
    public var upperBound: UInt16

    /// A range; `nil` when `upperBound < lowerBound`.
    public init?(_ lowerBound: UInt16, _ upperBound: UInt16) {
        guard lowerBound <= upperBound else { return nil }
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    public init(port: UInt16) {
        lowerBound = port
        upperBound = port
    }

    public func contains(_ port: UInt16) -> Bool { lowerBound <= port && port <= upperBound }

    public var description: String {
        lowerBound == upperBound ? "\(lowerBound)" : "\(lowerBound)-\(upperBound)"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.lowerBound, lhs.upperBound) < (rhs.lowerBound, rhs.upperBound)
    }
}

/// The direction a policy or rule governs, seen from the selected endpoint.
public enum PolicyDirection: String, Hashable, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    /// Traffic arriving at the endpoint.
    case ingress = "Ingress"
    /// Traffic leaving the endpoint.
    case egress = "Egress"

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .ingress && rhs == .egress }
}

/// Whether a name is a valid IANA service name as Kubernetes requires for named ports:
/// 1–15 characters of lowercase letters, digits and '-', at least one letter, no leading,
/// trailing or doubled '-'.
func isValidPortName(_ name: String) -> Bool {
    let characters = Array(name.utf8)
    guard (1...15).contains(characters.count) else { return false }
    guard characters.first != UInt8(ascii: "-"), characters.last != UInt8(ascii: "-") else { return false }
    guard !name.contains("--") else { return false }
    var hasLetter = false
    for character in characters {
        switch character {
        case UInt8(ascii: "a")...UInt8(ascii: "z"): hasLetter = true
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): break
        default: return false
        }
    }
    return hasLetter
}
