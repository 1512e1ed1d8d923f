import NIOCore

extension MeshError.Code {
    /// A frame's length prefix is zero or above the configured maximum.
    public static let frameTooLarge = MeshError.Code("frame too large")
}

/// The framing of a mesh TCP connection: each frame is a 4-byte big-endian length followed by
/// that many bytes (1 ... `maximumSize`). Before the handshake the body is a plain
/// ``MeshMessage``; on an encrypted connection afterwards it is a ``SealedRecord``.
public enum MeshFrame {
    /// The default upper bound of a frame body (gossip of a large topology fits comfortably).
    public static let defaultMaximumSize = 4 << 20

    /// Reads one frame body from `buffer`; nil (buffer untouched) until the whole frame is there.
    /// Throws ``MeshError/Code/frameTooLarge`` for a zero or oversized length before reading
    /// the body, so an attacker cannot make the receiver buffer more than `maximumSize` bytes.
    public static func read(from buffer: inout ByteBuffer, maximumSize: Int = defaultMaximumSize) throws(MeshError) -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length > 0, Int(length) <= maximumSize else {
            throw MeshError(.frameTooLarge, "frame length \(length) is outside 1...\(maximumSize)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))
    }

    /// Writes `body` with its length prefix.
    public static func write(_ body: some Collection<UInt8>, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(body.count))
        buffer.writeBytes(body)
    }
}

/// Frames the TCP byte stream into frame bodies for the connection handler.
final class MeshFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    let maximumSize: Int

    init(maximumSize: Int) { self.maximumSize = maximumSize }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try MeshFrame.read(from: &buffer, maximumSize: maximumSize) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
