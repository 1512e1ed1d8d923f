import NIOCore

/// What the codec needs to know about the session (negotiated in OPEN).
public struct MessageContext: Hashable, Sendable {
    /// Both sides announced 4-octet AS support: AS_PATH and AGGREGATOR carry 4-octet ASNs.
    public var fourOctetAS: Bool
    /// The peer is in our AS (iBGP): LOCAL_PREF is accepted from it.
    public var internalPeer: Bool

    public init(fourOctetAS: Bool = true, internalPeer: Bool = false) {
        self.fourOctetAS = fourOctetAS
        self.internalPeer = internalPeer
    }
}

/// One BGP message (RFC 4271 §4).
public enum BGPMessage: Hashable, Sendable {
    case open(OpenMessage)
    case update(UpdateMessage)
    case notification(NotificationMessage)
    case keepalive
    case routeRefresh(RouteRefreshMessage)

    /// The fixed header: 16-octet marker, 2-octet length, 1-octet type.
    public static let headerLength = 19
    /// The largest message without the extended-message capability.
    public static let maximumLength = 4096

    var typeCode: UInt8 {
        switch self {
        case .open: 1
        case .update: 2
        case .notification: 3
        case .keepalive: 4
        case .routeRefresh: 5
        }
    }

    /// Appends the encoded message to `buffer`. Throws when it exceeds 4096 bytes.
    public func write(to buffer: inout ByteBuffer, context: MessageContext = MessageContext()) throws {
        let start = buffer.writerIndex
        buffer.writeRepeatingByte(0xFF, count: 16)
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(typeCode)
        switch self {
        case .open(let open): open.write(to: &buffer)
        case .update(let update): update.write(to: &buffer, context: context)
        case .notification(let notification): notification.write(to: &buffer)
        case .keepalive: break
        case .routeRefresh(let refresh): refresh.write(to: &buffer)
        }
        let length = buffer.writerIndex - start
        guard length <= Self.maximumLength else {
            buffer.moveWriterIndex(to: start)
            throw BGPError(.encodingFailed, "message of \(length) bytes exceeds \(Self.maximumLength)")
        }
        buffer.setInteger(UInt16(length), at: start + 16)
    }

    /// The encoded bytes (convenience for tests and tools).
    public func encoded(context: MessageContext = MessageContext()) throws -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        try write(to: &buffer, context: context)
        return Array(buffer.readableBytesView)
    }

    /// Reads one message from the front of `buffer`. Returns nil, consuming nothing, when the
    /// buffer does not yet hold a whole message. Throws a ``BGPError`` carrying the
    /// NOTIFICATION of RFC 4271 §6.1 for header errors and of §6.2–6.3 for bad bodies.
    public static func read(from buffer: inout ByteBuffer, context: MessageContext = MessageContext()) throws -> BGPMessage? {
        guard buffer.readableBytes >= headerLength else { return nil }
        let start = buffer.readerIndex
        let markerOK = buffer.withUnsafeReadableBytes { bytes in (0..<16).allSatisfy { bytes[$0] == 0xFF } }
        guard markerOK else { throw BGPError.reset(1, 1, "connection not synchronized: bad marker") }
        let length = Int(buffer.getInteger(at: start + 16, as: UInt16.self)!)
        let type = buffer.getInteger(at: start + 18, as: UInt8.self)!
        let lengthData = [UInt8(length >> 8), UInt8(length & 0xFF)]
        guard length >= headerLength, length <= maximumLength else {
            throw BGPError.reset(1, 2, "bad message length \(length)", data: lengthData)
        }
        let minimum: [UInt8: Int] = [1: 29, 2: 23, 3: 21, 4: 19, 5: 23]
        guard let least = minimum[type] else { throw BGPError.reset(1, 3, "bad message type \(type)", data: [type]) }
        guard length >= least, type != 4 || length == 19, type != 5 || length == 23 else {
            throw BGPError.reset(1, 2, "bad length \(length) for message type \(type)", data: lengthData)
        }
        guard buffer.readableBytes >= length else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        var body = buffer.readSlice(length: length - headerLength)!
        switch type {
        case 1: return .open(try OpenMessage.read(from: &body))
        case 2: return .update(try UpdateMessage.read(from: &body, context: context))
        case 3: return .notification(try NotificationMessage.read(from: &body))
        case 4: return .keepalive
        default: return .routeRefresh(try RouteRefreshMessage.read(from: &body))
        }
    }

    /// Decodes exactly one whole message from `bytes` (tests, fuzzing). Throws on errors and
    /// when the bytes hold an incomplete message.
    public static func decode(_ bytes: [UInt8], context: MessageContext = MessageContext()) throws -> BGPMessage {
        var buffer = ByteBufferAllocator().buffer(bytes: bytes)
        guard let message = try read(from: &buffer, context: context) else {
            throw BGPError(.malformedMessage, "incomplete message")
        }
        return message
    }
}
