/// A peer's stable 48-bit name, written like a MAC address ("6a:1f:00:00:00:01").
///
/// Weave derives it from a MAC address of the host and keeps it across restarts; the mesh
/// orders peers by it (ties in route calculation, who connects to whom).
public struct PeerName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The 48-bit value in the low bits.
    public let rawValue: UInt64

    public init?(rawValue: UInt64) {
        guard rawValue >> 48 == 0 else { return nil }
        self.rawValue = rawValue
    }

    /// The low 48 bits of `bits` (callers that packed a name with other bits).
    init(low48 bits: UInt64) {
        rawValue = bits & 0xffff_ffff_ffff
    }

    /// Parses six hex pairs separated by ":" (as Weave prints names).
    public init(parsing text: some StringProtocol) throws(MeshError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { throw MeshError(.invalidValue, "peer name '\(text)' is not six hex pairs") }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else {
                throw MeshError(.invalidValue, "peer name '\(text)' is not six hex pairs")
            }
            value = value << 8 | UInt64(byte)
        }
        self.rawValue = value
    }

    /// The six bytes, most significant first.
    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * $0)) } }

    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    public static func < (lhs: PeerName, rhs: PeerName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Who a peer is: its stable name, a human nickname (the host name) and a UID that changes each
/// time the peer process starts, so others can tell a restarted peer from the old one.
public struct PeerIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var name: PeerName
    public var nickname: String
    public var uid: UInt64

    public init(name: PeerName, nickname: String, uid: UInt64) {
        self.name = name
        self.nickname = nickname
        self.uid = uid
    }

    public var description: String { "\(name)(\(nickname))" }
}
