/// A peer of the address ring: the 48-bit peer name (Weave's MAC-like name, as the low 48 bits
/// of `name`) plus a nickname for display. Identity is the name alone: two values with the
/// same name and different nicknames are the same peer.
///
/// Encoded as `{"name":"0a:1b:2c:3d:4e:5f","nickname":"node-1"}`.
public struct RingPeer: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The 48-bit peer name.
    public let name: UInt64
    /// A human-readable name (host name); never compared.
    public var nickname: String

    /// Keeps the low 48 bits of `name`.
    public init(name: UInt64, nickname: String = "") {
        self.name = name & 0xFFFF_FFFF_FFFF
        self.nickname = nickname
    }

    /// Parses `0a:1b:2c:3d:4e:5f` (six hex octets).
    public init(parsing text: String, nickname: String = "") throws {
        let octets = text.split(separator: ":", omittingEmptySubsequences: false)
        guard octets.count == 6 else { throw IPAMError(.invalidIdentifier, "peer name \"\(text)\" is not six octets") }
        var value: UInt64 = 0
        for octet in octets {
            guard octet.count == 2, let byte = UInt8(octet, radix: 16) else {
                throw IPAMError(.invalidIdentifier, "peer name \"\(text)\" has a bad octet")
            }
            value = value << 8 | UInt64(byte)
        }
        self.init(name: value, nickname: nickname)
    }

    /// `0a:1b:2c:3d:4e:5f`.
    public var nameText: String {
        (0..<6).reversed().map { shift in
            let byte = UInt8(truncatingIfNeeded: name >> (UInt64(shift) * 8))
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined(separator: ":")
    }

    /// `0a:1b:2c:3d:4e:5f(node-1)`.
    public var description: String { nickname.isEmpty ? nameText : "\(nameText)(\(nickname))" }

    public static func == (lhs: RingPeer, rhs: RingPeer) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    public static func < (lhs: RingPeer, rhs: RingPeer) -> Bool { lhs.name < rhs.name }

    private enum CodingKeys: String, CodingKey { case name, nickname }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let text = try container.decode(String.self, forKey: .name)
        let nickname = try container.decodeIfPresent(String.self, forKey: .nickname) ?? ""
        do { try self.init(parsing: text, nickname: nickname) } catch {
            throw DecodingError.dataCorruptedError(forKey: .name, in: container, debugDescription: "\(error)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(nameText, forKey: .name)
        try container.encode(nickname, forKey: .nickname)
    }
}
