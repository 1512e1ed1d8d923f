/// An Ethernet (EUI-48) MAC address.
///
/// Parses six hex pairs separated by ":" or "-" ("ee:ee:ee:ee:ee:ee"); formats lower case with
/// colons, as `ip link` prints it. Encodes to JSON as that string.
public struct MACAddress: Hashable, Sendable {
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        self.bytes = Array(bytes)
    }

    public init(parsing text: some StringProtocol) throws {
        let utf8 = Array(text.utf8)
        func fail() -> NetPrimitivesError { NetPrimitivesError(.invalidMACAddress, input: String(text)) }
        guard utf8.count == 17 else { throw fail() }
        let separator = utf8[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { throw fail() }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 17, by: 3) {
            guard let high = MACAddress.hex(utf8[index]), let low = MACAddress.hex(utf8[index + 1]) else {
                throw fail()
            }
            if index + 2 < 17, utf8[index + 2] != separator { throw fail() }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// Calico's host-side veth MAC.
    public static let calicoHost = MACAddress(unchecked: [0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE])
    public static let zero = MACAddress(unchecked: [0, 0, 0, 0, 0, 0])

    /// A locally administered unicast address made from `seed` bytes (the same seed gives the
    /// same address: a VTEP keeps its MAC across restarts by deriving it from a stable seed).
    public static func derived(from seed: some Sequence<UInt8>) -> MACAddress {
        // FNV-1a 64 over the seed; six bytes of it, then set the local bit and clear multicast.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        var bytes = (0..<6).map { UInt8(truncatingIfNeeded: hash >> (8 * $0)) }
        bytes[0] = (bytes[0] | 0x02) & 0xFE
        return MACAddress(unchecked: bytes)
    }

    /// A random locally administered unicast address.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> MACAddress {
        var bytes = (0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[0] = (bytes[0] | 0x02) & 0xFE
        return MACAddress(unchecked: bytes)
    }

    public static func random() -> MACAddress {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public var isMulticast: Bool { bytes[0] & 0x01 != 0 }
    public var isLocallyAdministered: Bool { bytes[0] & 0x02 != 0 }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension MACAddress: LosslessStringConvertible, CustomStringConvertible {
    public init?(_ description: String) {
        guard let parsed = try? MACAddress(parsing: description) else { return nil }
        self = parsed
    }

    public var description: String {
        bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined(separator: ":")
    }
}

extension MACAddress: Codable {
    public init(from decoder: any Decoder) throws {
        self = try decodeFromString(decoder) { try MACAddress(parsing: $0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
