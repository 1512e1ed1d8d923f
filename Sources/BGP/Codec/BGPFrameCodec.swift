import NIOCore

/// A SwiftNIO decoder that frames the TCP byte stream into ``BGPMessage`` values. Incomplete
/// frames wait for more bytes. The context changes once OPENs are exchanged
/// (``updateContext(_:)``), from the channel's event loop.
final class BGPMessageDecoder: ByteToMessageDecoder {
    typealias InboundOut = BGPMessage
    var context: MessageContext

    init(context: MessageContext = MessageContext()) { self.context = context }

    func decode(context channelContext: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try BGPMessage.read(from: &buffer, context: context) else { return .needMoreData }
        channelContext.fireChannelRead(wrapInboundOut(message))
        return .continue
    }

    func decodeLast(context channelContext: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: channelContext, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
