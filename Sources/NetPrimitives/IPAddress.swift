/// An IP address of either family.
///
/// Ordered with every IPv4 address before every IPv6 address. Encodes to JSON as its text.
public enum IPAddress: Hashable, Comparable, Sendable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// The address family, as the CNI 0.3/0.4 results spell it ("4" or "6").
    public enum Family: String, Hashable, Sendable, Codable, CaseIterable {
        case v4 = "4"
        case v6 = "6"

        /// The width of an address of this family in bits.
        public var bitWidth: Int { self == .v4 ? 32 : 128 }
    }

    public init(parsing text: some StringProtocol) throws {
        if let v4 = IPv4Address.parse(text.utf8) {
            self = .v4(v4)
        } else if let v6 = IPv6Address.parse(Array(text.utf8)) {
            self = .v6(v6)
        } else {
            throw NetPrimitivesError(.invalidIPAddress, input: String(text))
        }
    }

    /// 4 or 16 bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        if let v4 = IPv4Address(bytes: bytes) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(bytes: bytes) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var family: Family {
        switch self {
        case .v4: .v4
        case .v6: .v6
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): address.bytes
        case .v6(let address): address.bytes
        }
    }

    public var ipv4: IPv4Address? {
        if case .v4(let address) = self { address } else { nil }
    }

    public var ipv6: IPv6Address? {
        if case .v6(let address) = self { address } else { nil }
    }

    public var isLoopback: Bool {
        switch self {
        case .v4(let address): address.isLoopback
        case .v6(let address): address.isLoopback
        }
    }

    public var isUnspecified: Bool {
        switch self {
        case .v4(let address): address.isUnspecified
        case .v6(let address): address.isUnspecified
        }
    }

    /// The address as a 128-bit number (IPv4 in the low 32 bits), for arithmetic.
    public var numericValue: UInt128 {
        switch self {
        case .v4(let address): UInt128(address.value)
        case .v6(let address): UInt128(address.high) << 64 | UInt128(address.low)
        }
    }

    /// The address of `family` with the given numeric value, or nil when it does not fit.
    public init?(family: Family, numericValue: UInt128) {
        switch family {
        case .v4:
            guard numericValue <= UInt128(UInt32.max) else { return nil }
            self = .v4(IPv4Address(UInt32(numericValue)))
        case .v6:
            self = .v6(IPv6Address(
                high: UInt64(truncatingIfNeeded: numericValue >> 64),
                low: UInt64(truncatingIfNeeded: numericValue)))
        }
    }

    /// The address `offset` further on (or back, when negative); nil past the family's range.
    public func advanced(by offset: Int) -> IPAddress? {
        let value = numericValue
        if offset >= 0 {
            let (sum, overflow) = value.addingReportingOverflow(UInt128(offset))
            return overflow ? nil : IPAddress(family: family, numericValue: sum)
        }
        let magnitude = UInt128(offset.magnitude)
        return magnitude > value ? nil : IPAddress(family: family, numericValue: value - magnitude)
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): a < b
        case (.v6(let a), .v6(let b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

extension IPAddress: LosslessStringConvertible, CustomStringConvertible {
    public init?(_ description: String) {
        guard let parsed = try? IPAddress(parsing: description) else { return nil }
        self = parsed
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }
}

extension IPAddress: Codable {
    public init(from decoder: any Decoder) throws {
        self = try decodeFromString(decoder) { try IPAddress(parsing: $0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension IPAddress: ExpressibleByStringLiteral {
    /// For literals in code and tests; traps on an invalid literal, like a malformed regex literal.
    public init(stringLiteral value: String) {
        guard let parsed = IPAddress(value) else { preconditionFailure("invalid IP address literal \(value)") }
        self = parsed
    }
}
