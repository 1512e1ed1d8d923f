/// An IPv6 address: 128 bits as two 64-bit halves in host byte order.
///
/// Parsing accepts RFC 4291 text: up to eight groups of 1–4 hex digits, one `::`, and an
/// optional dotted-quad tail ("::ffff:10.0.0.1"). Zones ("%eth0") are rejected. Formatting is
/// the RFC 5952 canonical form: lower case, no leading zeros, the longest run of two or more
/// zero groups compressed (the first of equal runs).
public struct IPv6Address: Hashable, Comparable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Sixteen bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// Eight 16-bit groups.
    public init(groups: [UInt16]) {
        precondition(groups.count == 8, "an IPv6 address has eight groups")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<4 { high = high << 16 | UInt64(groups[index]) }
        for index in 4..<8 { low = low << 16 | UInt64(groups[index]) }
        self.init(high: high, low: low)
    }

    public init(parsing text: some StringProtocol) throws {
        guard let parsed = IPv6Address.parse(Array(text.utf8)) else {
            throw NetPrimitivesError(.invalidIPv6Address, input: String(text))
        }
        self = parsed
    }

    public static let any = IPv6Address(high: 0, low: 0)
    public static let loopback = IPv6Address(high: 0, low: 1)

    public var bytes: [UInt8] {
        (0..<16).map { index in
            index < 8 ? UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
                : UInt8(truncatingIfNeeded: low >> (56 - 8 * (index - 8)))
        }
    }

    public var groups: [UInt16] {
        (0..<8).map { index in
            index < 4 ? UInt16(truncatingIfNeeded: high >> (48 - 16 * index))
                : UInt16(truncatingIfNeeded: low >> (48 - 16 * (index - 4)))
        }
    }

    /// The embedded IPv4 address of an IPv4-mapped address (`::ffff:a.b.c.d`).
    public var mappedIPv4: IPv4Address? {
        guard high == 0, low >> 32 == 0xFFFF else { return nil }
        return IPv4Address(UInt32(truncatingIfNeeded: low))
    }

    public var isLinkLocal: Bool { high >> 54 == 0x3FA }  // fe80::/10
    public var isMulticast: Bool { high >> 56 == 0xFF }
    public var isLoopback: Bool { self == .loopback }
    public var isUnspecified: Bool { self == .any }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    static func parse(_ text: [UInt8]) -> IPv6Address? {
        guard text.count >= 2, text.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawDoubleColon = false
        var index = 0
        if text.starts(with: [UInt8(ascii: ":"), UInt8(ascii: ":")]) {
            sawDoubleColon = true
            index = 2
            if index == text.count { return IPv6Address.any }
        } else if text[0] == UInt8(ascii: ":") {
            return nil
        }
        while index < text.count {
            // An IPv4 tail (the last group, no colon after it) takes the last 32 bits.
            let rest = text[index...]
            if rest.contains(UInt8(ascii: ".")), !rest.contains(UInt8(ascii: ":")) {
                guard let v4 = IPv4Address.parse(rest) else { return nil }
                let groups = [UInt16(v4.value >> 16), UInt16(v4.value & 0xFFFF)]
                if sawDoubleColon { tail += groups } else { head += groups }
                index = text.count
                break
            }
            var group: UInt32 = 0
            var digits = 0
            while index < text.count, let nibble = hexValue(text[index]) {
                group = group << 4 | UInt32(nibble)
                digits += 1
                index += 1
                if digits > 4 { return nil }
            }
            guard digits > 0 else { return nil }
            if sawDoubleColon { tail.append(UInt16(group)) } else { head.append(UInt16(group)) }
            if index == text.count { break }
            guard text[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            if index < text.count, text[index] == UInt8(ascii: ":") {
                if sawDoubleColon { return nil }
                sawDoubleColon = true
                index += 1
                if index == text.count { break }
            } else if index == text.count {
                return nil  // trailing single colon
            }
        }
        let count = head.count + tail.count
        if sawDoubleColon {
            guard count <= 7 else { return nil }
            return IPv6Address(groups: head + Array(repeating: 0, count: 8 - count) + tail)
        }
        guard count == 8 else { return nil }
        return IPv6Address(groups: head)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension IPv6Address: LosslessStringConvertible, CustomStringConvertible {
    public init?(_ description: String) {
        guard let parsed = IPv6Address.parse(Array(description.utf8)) else { return nil }
        self = parsed
    }

    public var description: String {
        if let v4 = mappedIPv4 { return "::ffff:\(v4)" }
        let groups = self.groups
        // Longest run of zero groups, length >= 2, first one on ties.
        var bestStart = -1
        var bestLength = 1
        var runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength {
                    bestStart = runStart
                    bestLength = index - runStart
                }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

extension IPv6Address: Codable {
    public init(from decoder: any Decoder) throws {
        self = try decodeFromString(decoder) { try IPv6Address(parsing: $0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
