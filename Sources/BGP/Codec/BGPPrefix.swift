import NIOCore
import NetPrimitives

/// A route's destination: an IPv4 or IPv6 prefix with its host bits cleared.
///
/// A compact value type (cheaper to hash than `IPNetwork`), used for every
/// NLRI the codec reads and every RIB key. Convert with ``init(_:)`` and ``network``.
public struct BGPPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address family.
    public let family: IPAddress.Family
    /// The prefix length in bits.
    public let length: UInt8
    /// The network address as a number, right-aligned in the family's width.
    public let value: UInt128

    /// A prefix from a CIDR network; host bits are cleared.
    public init(_ network: IPNetwork) {
        let clean = network.network
        self.family = clean.family
        self.length = UInt8(clean.prefixLength)
        self.value = clean.address.numericValue
    }

    /// Parses "10.0.0.0/24" or "fd00::/64".
    public init(parsing text: String) throws {
        self.init(try IPNetwork(parsing: text))
    }

    /// A prefix from its parts; host bits beyond `length` are cleared. Nil when the length is
    /// longer than the family allows.
    public init?(family: IPAddress.Family, value: UInt128, length: Int) {
        guard length >= 0, length <= family.bitWidth else { return nil }
        self.init(unchecked: family, value: value, length: UInt8(length))
    }

    init(unchecked family: IPAddress.Family, value: UInt128, length: UInt8) {
        self.family = family
        self.length = length
        let width = family.bitWidth
        let hostBits = width - Int(length)
        let all: UInt128 = width == 128 ? .max : (UInt128(1) << width) - 1
        let mask: UInt128 = hostBits == width ? 0 : all & ~((UInt128(1) << hostBits) - 1)
        self.value = value & mask
    }

    /// The prefix as a CIDR network.
    public var network: IPNetwork {
        try! IPNetwork(address: IPAddress(family: family, numericValue: value)!, prefixLength: Int(length))
    }

    public var description: String { network.description }

    public static func < (lhs: BGPPrefix, rhs: BGPPrefix) -> Bool {
        if lhs.family != rhs.family { return lhs.family == .v4 }
        if lhs.value != rhs.value { return lhs.value < rhs.value }
        return lhs.length < rhs.length
    }
}

extension BGPPrefix {
    /// Bytes on the wire in NLRI form: the length octet and the significant octets.
    var encodedSize: Int { 1 + (Int(length) + 7) / 8 }

    /// Writes the NLRI form (RFC 4271 §4.3): length in bits, then ceil(length/8) octets.
    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(length)
        let width = family.bitWidth
        let count = (Int(length) + 7) / 8
        for index in 0..<count {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value >> (width - 8 * (index + 1))))
        }
    }

    /// Reads NLRI entries until `buffer` is empty. Throws the UPDATE error `subcode` (RFC 4271
    /// §6.3: invalid network field) when an entry is too long for the family or truncated.
    static func readAll(
        _ family: IPAddress.Family, from buffer: inout ByteBuffer, into prefixes: inout [BGPPrefix]
    ) throws {
        let width = family.bitWidth
        try buffer.withUnsafeReadableBytes { (bytes: UnsafeRawBufferPointer) throws in
            var offset = 0
            let end = bytes.count
            while offset < end {
                let length = Int(bytes[offset])
                offset += 1
                guard length <= width else {
                    throw BGPError.reset(3, 10, "prefix length \(length) too long for IP\(family.rawValue == "4" ? "v4" : "v6")")
                }
                let count = (length + 7) / 8
                guard offset + count <= end else {
                    throw BGPError.reset(3, 10, "truncated prefix in NLRI")
                }
                var value: UInt128 = 0
                if width == 32 {
                    var small: UInt32 = 0
                    for index in 0..<count { small |= UInt32(bytes[offset + index]) << (24 - 8 * index) }
                    value = UInt128(small)
                } else {
                    for index in 0..<count { value |= UInt128(bytes[offset + index]) << (120 - 8 * index) }
                }
                offset += count
                prefixes.append(BGPPrefix(unchecked: family, value: value, length: UInt8(length)))
            }
        }
        buffer.moveReaderIndex(to: buffer.writerIndex)
    }
}
