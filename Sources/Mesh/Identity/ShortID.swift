/// A peer's 12-bit short ID, the compact name the fast data path carries in packets instead of
/// the 48-bit ``PeerName`` (Weave uses 12 bits too).
///
/// Each peer claims one ID for itself (``preferred(for:)``) and announces it in its topology
/// entry. Two peers that learn through gossip that they claim the same ID settle it without
/// talking to each other: the peer with the lower name keeps it, the other picks a free one
/// (``GossipEngine`` does this); every peer sees the same entries, so all agree.
public struct ShortID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// How many bits a short ID has.
    public static let bitWidth = 12
    /// How many distinct short IDs exist (4096).
    public static let count = 1 << bitWidth

    /// The value, below ``count``.
    public let rawValue: UInt16

    public init?(rawValue: UInt16) {
        guard Int(rawValue) < Self.count else { return nil }
        self.rawValue = rawValue
    }

    init(truncating value: UInt64) {
        self.rawValue = UInt16(truncatingIfNeeded: value & UInt64(Self.count - 1))
    }

    /// The ID a peer claims first: derived from its name, so restarts claim the same one and
    /// different names spread over the whole space.
    public static func preferred(for name: PeerName) -> ShortID {
        ShortID(truncating: mix(name.rawValue))
    }

    /// The first ID not in `used`, probing from a start derived from `name` (so two peers that
    /// lose a collision at the same time rarely pick the same replacement); nil when all 4096
    /// are used.
    public static func free(for name: PeerName, avoiding used: Set<ShortID>) -> ShortID? {
        guard used.count < count else { return nil }
        let start = mix(name.rawValue ^ 0x5bd1_e995)
        for step in 0..<UInt64(count) {
            let candidate = ShortID(truncating: start &+ step)
            if !used.contains(candidate) { return candidate }
        }
        return nil
    }

    public static func < (lhs: ShortID, rhs: ShortID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(UInt16.self)
        guard let id = ShortID(rawValue: value) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "short ID \(value) exceeds 12 bits"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// SplitMix64's finaliser: a fixed, well-spread hash (Swift's Hasher is seeded per process).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
