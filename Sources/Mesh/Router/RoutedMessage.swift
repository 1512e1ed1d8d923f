import NIOCore

/// A message of another channel (the ring IPAM's, an application's) that the router carries
/// between peers that need not be directly connected: hop by hop along the unicast routes to
/// one destination, or along the origin's broadcast tree to every reachable peer.
public struct MeshRoutedMessage: Hashable, Sendable {
    /// Where the message goes.
    public enum Destination: Hashable, Sendable {
        /// One peer, over the unicast next hops.
        case peer(PeerName)
        /// Every reachable peer (the origin excluded), each once, over the origin's broadcast tree.
        case broadcast
    }

    /// The peer that sent it first.
    public var origin: PeerName
    public var destination: Destination
    /// The application channel (1 to 255 UTF-8 bytes); subscribers filter on it.
    public var channel: String
    public var payload: [UInt8]
    /// Hops it may still take; each relay decrements it and drops the message at zero, so a
    /// loop while routes settle cannot carry it forever.
    public var hopLimit: UInt8

    /// Hops a new message may take: more than any path in a mesh of the size the project targets.
    public static let defaultHopLimit: UInt8 = 64

    public init(origin: PeerName, destination: Destination, channel: String, payload: [UInt8], hopLimit: UInt8 = defaultHopLimit) {
        self.origin = origin
        self.destination = destination
        self.channel = channel
        self.payload = payload
        self.hopLimit = hopLimit
    }

    /// The connection channel routed messages travel on between neighbours.
    public static let connectionChannel = "mesh.routed"

    private enum Kind: UInt8 {
        case unicast = 1, broadcast = 2
    }

    /// Bytes before the channel name and payload: kind, hop limit, origin, destination.
    static let unicastHeaderSize = 1 + 1 + 6 + 6
    static let broadcastHeaderSize = 1 + 1 + 6

    /// The envelope: kind (1: unicast, 2: broadcast), hop limit, origin (6 bytes), destination
    /// (6 bytes, unicast only), channel name length (1 byte) and name, then the payload.
    public func encoded() throws(MeshError) -> [UInt8] {
        let name = Array(channel.utf8)
        guard !name.isEmpty, name.count <= 255 else {
            throw MeshError(.invalidValue, "routed message channel '\(channel)' must be 1 to 255 UTF-8 bytes")
        }
        var buffer = ByteBufferAllocator().buffer(capacity: Self.unicastHeaderSize + 1 + name.count + payload.count)
        switch destination {
        case .peer(let peer):
            buffer.writeInteger(Kind.unicast.rawValue)
            buffer.writeInteger(hopLimit)
            buffer.writeBytes(origin.bytes)
            buffer.writeBytes(peer.bytes)
        case .broadcast:
            buffer.writeInteger(Kind.broadcast.rawValue)
            buffer.writeInteger(hopLimit)
            buffer.writeBytes(origin.bytes)
        }
        buffer.writeInteger(UInt8(name.count))
        buffer.writeBytes(name)
        buffer.writeBytes(payload)
        return Array(buffer.readableBytesView)
    }

    /// Decodes an envelope; anything truncated, of an unknown kind or with a bad channel name is
    /// a ``MeshError/Code/malformedMessage``.
    public init(decoding bytes: some Collection<UInt8>) throws(MeshError) {
        var buffer = ByteBufferAllocator().buffer(bytes: bytes)
        guard let raw = buffer.readInteger(as: UInt8.self), let hopLimit = buffer.readInteger(as: UInt8.self) else {
            throw Self.malformed("truncated header")
        }
        guard let kind = Kind(rawValue: raw) else { throw Self.malformed("unknown kind \(raw)") }
        let origin = try Self.readName(&buffer, "origin")
        switch kind {
        case .unicast: destination = .peer(try Self.readName(&buffer, "destination"))
        case .broadcast: destination = .broadcast
        }
        guard let length = buffer.readInteger(as: UInt8.self), length > 0, let name = buffer.readBytes(length: Int(length)) else {
            throw Self.malformed("truncated or empty channel name")
        }
        guard let channel = String(validating: name, as: UTF8.self) else { throw Self.malformed("channel name is not UTF-8") }
        self.origin = origin
        self.channel = channel
        self.hopLimit = hopLimit
        self.payload = buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    private static func readName(_ buffer: inout ByteBuffer, _ field: String) throws(MeshError) -> PeerName {
        guard let bytes = buffer.readBytes(length: 6) else { throw malformed("truncated \(field)") }
        return PeerName(rawValue: bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })!
    }

    private static func malformed(_ what: String) -> MeshError {
        MeshError(.malformedMessage, "routed message: \(what)")
    }
}
