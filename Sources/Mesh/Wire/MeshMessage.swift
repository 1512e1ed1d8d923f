import NIOCore

/// The first message each side sends: who it is, which protocol versions it speaks, its
/// ephemeral X25519 public key and whether it has a mesh secret.
public struct MeshHello: Hashable, Sendable {
    /// "SCM1": tells a mesh peer from anything else that connects to the port.
    public static let magic: [UInt8] = [0x53, 0x43, 0x4d, 0x31]
    public var versions: ClosedRange<UInt8>
    public var identity: PeerIdentity
    public var hasSecret: Bool
    /// 32 bytes.
    public var ephemeralPublicKey: [UInt8]

    public init(versions: ClosedRange<UInt8>, identity: PeerIdentity, hasSecret: Bool, ephemeralPublicKey: [UInt8]) {
        self.versions = versions
        self.identity = identity
        self.hasSecret = hasSecret
        self.ephemeralPublicKey = ephemeralPublicKey
    }
}

/// Why a connection is closed; sent in ``MeshMessage/close(_:)`` so both ends can show it.
public struct MeshCloseReason: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Kind: UInt8, Hashable, Sendable, Codable {
        case other = 0
        /// Both have a secret, but key confirmation failed: the secrets differ.
        case secretMismatch = 1
        /// One side has a secret, the other none.
        case secretOneSided = 2
        /// The version ranges do not overlap.
        case noCommonVersion = 3
        case handshakeTimeout = 4
        case heartbeatTimeout = 5
        /// A frame or message that breaks the protocol.
        case protocolViolation = 6
        case connectionToSelf = 7
        /// Another connection to the same peer is kept.
        case duplicate = 8
        case connectionLimit = 9
        case rateLimited = 10
        /// The node stops or forgets the peer.
        case shutdown = 11
        /// The TCP connection ended (reset, EOF, I/O error).
        case connectionLost = 12
    }

    public var kind: Kind
    public var detail: String
    /// True when the other end sent this reason (it refused us); false when we decided.
    public var byPeer: Bool

    public init(_ kind: Kind, _ detail: String, byPeer: Bool = false) {
        self.kind = kind
        self.detail = detail
        self.byPeer = byPeer
    }

    public var description: String { byPeer ? "refused by peer: \(detail)" : detail }
}

/// A message of the mesh protocol.
public enum MeshMessage: Hashable, Sendable {
    case hello(MeshHello)
    /// Key confirmation: HMAC-SHA256 of the handshake transcript (32 bytes).
    case confirm([UInt8])
    case heartbeat
    /// Opaque bytes for the gossip engine on a named channel (name at most 255 UTF-8 bytes).
    case gossip(channel: String, payload: [UInt8])
    case close(MeshCloseReason)

    enum Tag: UInt8 {
        case hello = 1, confirm = 2, heartbeat = 3, gossip = 4, close = 5
    }

    /// The longest close detail sent or accepted.
    static let maximumDetail = 512

    public func encoded() -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        switch self {
        case .hello(let hello):
            buffer.writeInteger(Tag.hello.rawValue)
            buffer.writeBytes(MeshHello.magic)
            buffer.writeInteger(hello.versions.lowerBound)
            buffer.writeInteger(hello.versions.upperBound)
            buffer.writeBytes(hello.identity.name.bytes)
            buffer.writeInteger(hello.identity.uid)
            buffer.writeInteger(UInt8(hello.hasSecret ? 1 : 0))
            buffer.writeBytes(hello.ephemeralPublicKey)
            let nickname = Array(hello.identity.nickname.utf8.prefix(255))
            buffer.writeInteger(UInt8(nickname.count))
            buffer.writeBytes(nickname)
        case .confirm(let tag):
            buffer.writeInteger(Tag.confirm.rawValue)
            buffer.writeBytes(tag)
        case .heartbeat:
            buffer.writeInteger(Tag.heartbeat.rawValue)
        case .gossip(let channel, let payload):
            buffer.writeInteger(Tag.gossip.rawValue)
            let name = Array(channel.utf8.prefix(255))
            buffer.writeInteger(UInt8(name.count))
            buffer.writeBytes(name)
            buffer.writeBytes(payload)
        case .close(let reason):
            buffer.writeInteger(Tag.close.rawValue)
            buffer.writeInteger(reason.kind.rawValue)
            buffer.writeBytes(Array(reason.detail.utf8.prefix(Self.maximumDetail)))
        }
        return Array(buffer.readableBytesView)
    }

    /// Decodes one whole frame body. Hello may carry trailing bytes (extensions of later
    /// versions, ignored); other messages must be exact.
    public static func decode(_ body: some Collection<UInt8>) throws(MeshError) -> MeshMessage {
        var buffer = ByteBufferAllocator().buffer(bytes: body)
        guard let raw = buffer.readInteger(as: UInt8.self) else { throw malformed("empty message") }
        guard let tag = Tag(rawValue: raw) else { throw malformed("unknown message type \(raw)") }
        switch tag {
        case .hello:
            guard let magic = buffer.readBytes(length: 4), magic == MeshHello.magic else {
                throw malformed("hello without the mesh protocol marker (not a mesh peer?)")
            }
            guard let low = buffer.readInteger(as: UInt8.self), let high = buffer.readInteger(as: UInt8.self),
                  let nameBytes = buffer.readBytes(length: 6), let uid = buffer.readInteger(as: UInt64.self),
                  let flags = buffer.readInteger(as: UInt8.self), let key = buffer.readBytes(length: 32),
                  let nicknameLength = buffer.readInteger(as: UInt8.self),
                  let nickname = buffer.readBytes(length: Int(nicknameLength))
            else { throw malformed("truncated hello") }
            guard low <= high else { throw malformed("hello version range \(low)...\(high) is empty") }
            guard flags <= 1 else { throw malformed("hello flags \(flags) unknown") }
            let value = nameBytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let identity = PeerIdentity(name: PeerName(rawValue: value)!, nickname: String(decoding: nickname, as: UTF8.self), uid: uid)
            return .hello(MeshHello(versions: low...high, identity: identity, hasSecret: flags == 1, ephemeralPublicKey: key))
        case .confirm:
            guard buffer.readableBytes == 32, let tag = buffer.readBytes(length: 32) else { throw malformed("confirm is not 32 bytes") }
            return .confirm(tag)
        case .heartbeat:
            guard buffer.readableBytes == 0 else { throw malformed("heartbeat with a body") }
            return .heartbeat
        case .gossip:
            guard let length = buffer.readInteger(as: UInt8.self), let name = buffer.readBytes(length: Int(length)) else {
                throw malformed("truncated gossip channel name")
            }
            guard let channel = String(validating: name, as: UTF8.self) else { throw malformed("gossip channel name is not UTF-8") }
            return .gossip(channel: channel, payload: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .close:
            guard let raw = buffer.readInteger(as: UInt8.self) else { throw malformed("truncated close") }
            let detail = buffer.readBytes(length: min(buffer.readableBytes, maximumDetail)) ?? []
            let kind = MeshCloseReason.Kind(rawValue: raw) ?? .other
            return .close(MeshCloseReason(kind, String(decoding: detail, as: UTF8.self), byPeer: true))
        }
    }

    private static func malformed(_ message: String) -> MeshError { MeshError(.malformedMessage, message) }
}
