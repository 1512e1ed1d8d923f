import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A tiny HTTP/1.0 responder serving `/healthz`, `/metrics` (Prometheus text) and `/status`
/// (JSON) on TCP `--listen` and on the unix socket `<state-dir>/status.sock` (used by
/// `swift-calico-node status`). One request per connection; the connection closes after the
/// response.
struct StatusServer: Service {
    struct Response: Sendable {
        var status: String
        var contentType: String
        var body: String
    }

    typealias Responder = @Sendable (_ path: String) async -> Response

    var listen: (host: String, port: Int)?
    var socketPath: String
    var responder: Responder
    var logger: Logger

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let responder = self.responder
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RequestHandler(responder: responder)) }
            }
        var channels: [any Channel] = []
        try? FileManager.default.createDirectory(
            atPath: (socketPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        unlink(socketPath)
        channels.append(try await bootstrap.bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).get())
        if let listen {
            channels.append(try await bootstrap.bind(host: listen.host, port: listen.port).get())
            logger.info("serving /healthz and /metrics on \(listen.host):\(listen.port)")
        }
        try? await gracefulShutdown()
        for channel in channels { try? await channel.close() }
        unlink(socketPath)
    }
}

private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let responder: StatusServer.Responder
    private var received = ""
    private var answered = false

    init(responder: @escaping StatusServer.Responder) { self.responder = responder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received += buffer.readString(length: buffer.readableBytes) ?? ""
        guard !answered, received.contains("\n\n") || received.contains("\r\n\r\n") else { return }
        answered = true
        let parts = received.split(separator: " ", maxSplits: 2)
        let path = parts.count >= 2 ? String(parts[1]) : "/"
        let responder = self.responder
        let channel = context.channel
        let future = channel.eventLoop.makeFutureWithTask { await responder(path) }
        future.whenSuccess { response in
            let bodyBytes = Array(response.body.utf8)
            let head = "HTTP/1.0 \(response.status)\r\nContent-Type: \(response.contentType)\r\nContent-Length: \(bodyBytes.count)\r\nConnection: close\r\n\r\n"
            var out = channel.allocator.buffer(capacity: head.utf8.count + bodyBytes.count)
            out.writeString(head)
            out.writeBytes(bodyBytes)
            channel.writeAndFlush(out).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
