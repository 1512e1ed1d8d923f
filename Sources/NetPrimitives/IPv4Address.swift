/// An IPv4 address, stored as a 32-bit number in host byte order.
///
/// Parsing accepts the dotted-quad form only ("10.244.1.5"): four decimal parts 0–255 with no
/// leading zeros, no signs, no spaces. Encodes to JSON as that string.
public struct IPv4Address: Hashable, Comparable, Sendable {
    /// The address as a number: `10.0.0.1` is `0x0A00_0001`.
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Four bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses dotted-quad text; throws ``NetPrimitivesError`` on anything else.
    public init(parsing text: some StringProtocol) throws {
        guard let parsed = IPv4Address.parse(text.utf8) else {
            throw NetPrimitivesError(.invalidIPv4Address, input: String(text))
        }
        self = parsed
    }

    /// The four bytes in network order.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    public static let any = IPv4Address(0)
    public static let broadcast = IPv4Address(0xFFFF_FFFF)
    public static let loopback = IPv4Address(127, 0, 0, 1)

    public var isLoopback: Bool { value >> 24 == 127 }
    public var isMulticast: Bool { value >> 28 == 0xE }
    public var isLinkLocal: Bool { value >> 16 == 0xA9FE }
    public var isUnspecified: Bool { value == 0 }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    static func parse(_ utf8: some Collection<UInt8>) -> IPv4Address? {
        var result: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits > 0 && part == 0 { return nil }  // leading zero
                part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                if digits > 3 || part > 255 { return nil }
            case UInt8(ascii: "."):
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | part
                parts += 1
                part = 0
                digits = 0
            default:
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return IPv4Address(result << 8 | part)
    }
}

extension IPv4Address: LosslessStringConvertible, CustomStringConvertible {
    public init?(_ description: String) {
        guard let parsed = IPv4Address.parse(description.utf8) else { return nil }
        self = parsed
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}

extension IPv4Address: Codable {
    public init(from decoder: any Decoder) throws {
        self = try decodeFromString(decoder) { try IPv4Address(parsing: $0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
