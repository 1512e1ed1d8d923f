import NIOCore

/// Passes one TCP connection's frames and fate to the node's core. Runs on the core's event
/// loop, like everything of the node.
final class MeshChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let core: MeshCore
    /// The address we dialed (nil for accepted connections).
    let target: MeshPeerAddress?
    var connection: MeshConnection?

    init(core: MeshCore, target: MeshPeerAddress?) {
        self.core = core
        self.target = target
    }

    func channelActive(context: ChannelHandlerContext) {
        core.attach(context.channel, handler: self)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let connection else { return }
        let frame = unwrapInboundIn(data)
        core.received(Array(frame.readableBytesView), on: connection)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let connection, let error = error as? MeshError {
            core.frameRejected(error, on: connection)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let connection { core.transportClosed(connection) }
        context.fireChannelInactive()
    }
}

/// The live state of one connection; owned and touched only by ``MeshCore`` on its event loop.
///
/// `@unchecked Sendable`: only read and written on the core's event loop.
final class MeshConnection: @unchecked Sendable {
    let channel: Channel
    var machine: MeshConnectionStateMachine
    let remote: MeshPeerAddress
    let target: MeshPeerAddress?
    var outbound: Bool { target != nil }
    var handshakeTimer: Scheduled<Void>?
    var heartbeat: RepeatedTask?
    var establishedAt: NIODeadline?
    var peer: PeerIdentity?
    var dataChannel: MeshDataChannel?
    var dropped: [RecordRejection: Int] = [:]
    var lastWrite: EventLoopFuture<Void>?
    var finished = false

    init(channel: Channel, machine: MeshConnectionStateMachine, remote: MeshPeerAddress, target: MeshPeerAddress?) {
        self.channel = channel
        self.machine = machine
        self.remote = remote
        self.target = target
    }

    func cancelTimers() {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        heartbeat?.cancel()
        heartbeat = nil
    }
}

/// An address the core keeps dialing, with its backoff.
struct MeshTarget {
    var state: MeshTargetStatus.State = .waiting
    var backoff: ReconnectBackoff
    var timer: Scheduled<Void>?
    var nextAttempt: NIODeadline?
    var lastError: MeshCloseReason?
    /// A duplicate-connection resolution kept the peer's inbound connection instead of ours.
    var coveredBy: PeerName?
}
