import NIOCore

/// Passes a connection's messages and fate to the speaker core. Lives on the core's event
/// loop like everything else of the speaker.
final class PeerChannelHandler: ChannelInboundHandler {
    typealias InboundIn = BGPMessage
    let core: SpeakerCore
    var peer: PeerRuntime?
    let decoder: BGPMessageDecoder

    init(core: SpeakerCore, peer: PeerRuntime?, decoder: BGPMessageDecoder) {
        self.core = core
        self.peer = peer
        self.decoder = decoder
    }

    func channelActive(context: ChannelHandlerContext) {
        if peer == nil { core.accepted(context.channel, handler: self) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer else { return }
        core.received(unwrapInboundIn(data), on: context.channel, peer: peer)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let peer, let error = error as? BGPError {
            core.decodingFailed(error, on: context.channel, peer: peer)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let peer { core.closed(context.channel, peer: peer) }
        context.fireChannelInactive()
    }
}
