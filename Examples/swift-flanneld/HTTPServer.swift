import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The agent's small HTTP endpoint: `GET /healthz` (200 once the data path is programmed,
/// 503 before) and `GET /metrics` (Prometheus text).
struct HTTPServer: Service {
    let host: String
    let port: Int
    let status: AgentStatus
    let metrics: PrometheusMetrics
    let logger: Logger

    func run() async throws {
        let status = self.status
        let metrics = self.metrics
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Responder(status: status, metrics: metrics))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("serving /healthz and /metrics", metadata: ["listen": "\(channel.localAddress?.description ?? "?")"])
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }

    final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let status: AgentStatus
        let metrics: PrometheusMetrics

        init(status: AgentStatus, metrics: PrometheusMetrics) {
            self.status = status
            self.metrics = metrics
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .head(let request) = unwrapInboundIn(data) else { return }
            let (code, body): (HTTPResponseStatus, String)
            switch (request.method, request.uri.split(separator: "?").first ?? "") {
            case (.GET, "/healthz"):
                let snapshot = status.snapshot
                code = snapshot.ready ? .ok : .serviceUnavailable
                body = snapshot.ready ? "ok\n" : "starting: \(snapshot.detail)\n"
            case (.GET, "/metrics"):
                code = .ok
                body = metrics.render()
            default:
                code = .notFound
                body = "not found\n"
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: code, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}
