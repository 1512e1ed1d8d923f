import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// An agent's small HTTP/1.1 endpoint (NIOHTTP1), run as a service until graceful shutdown:
/// `GET /healthz` from an ``AgentHealth``, `GET /metrics` from a ``PrometheusExposition``, and
/// any further paths the agent adds (swift-calico-node's `/status`). One request per
/// connection; the connection closes after the response. It listens on TCP, on a unix socket,
/// or both.
///
/// ```swift
/// let server = StatusServer(
///     listen: try ListenAddress(parsing: "127.0.0.1:9099"), health: health, metrics: exposition,
///     routes: ["/status": { .json(try! encoder.encode(report)) }], logger: logger)
/// let group = ServiceGroup(services: [agent, server], logger: logger)
/// ```
public struct StatusServer: Service {
    /// An answer: status code, content type and body.
    public struct Response: Hashable, Sendable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int = 200, body: String, contentType: String = "text/plain; charset=utf-8") {
            self.status = status
            self.contentType = contentType
            self.body = body
        }

        public static func text(_ body: String, status: Int = 200) -> Response { Response(status: status, body: body) }

        public static func json(_ body: String, status: Int = 200) -> Response {
            Response(status: status, body: body, contentType: "application/json")
        }

        public static let notFound = Response(status: 404, body: "not found\n")
        public static let methodNotAllowed = Response(status: 405, body: "only GET is served\n")
    }

    public typealias Handler = @Sendable () async -> Response

    public let listen: ListenAddress?
    public let unixSocketPath: String?
    public let health: AgentHealth
    public let metrics: PrometheusExposition
    public let routes: [String: Handler]
    /// Runs before each `/metrics` answer, to refresh gauges read from the agent's state.
    public let beforeScrape: (@Sendable () async -> Void)?
    public let logger: Logger

    public init(
        listen: ListenAddress?, unixSocketPath: String? = nil, health: AgentHealth, metrics: PrometheusExposition,
        routes: [String: Handler] = [:], beforeScrape: (@Sendable () async -> Void)? = nil, logger: Logger
    ) {
        self.listen = listen
        self.unixSocketPath = unixSocketPath
        self.health = health
        self.metrics = metrics
        self.routes = routes
        self.beforeScrape = beforeScrape
        self.logger = logger
    }

    /// The answer to `method path` (the query string is ignored).
    public func respond(method: String, uri: String) async -> Response {
        guard method == "GET" || method == "HEAD" else { return .methodNotAllowed }
        let path = String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if let route = routes[path] { return await route() }
        switch path {
        case "/healthz": return health.response
        case "/metrics":
            await beforeScrape?()
            return metrics.response
        default: return .notFound
        }
    }

    public func run() async throws {
        let handler = self
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(server: handler))
                }
            }
        var channels: [any Channel] = []
        do {
            if let unixSocketPath {
                channels.append(try await bootstrap.bind(unixDomainSocketPath: unixSocketPath, cleanupExistingSocketFile: true).get())
            }
            if let listen {
                channels.append(try await bootstrap.bind(host: listen.host, port: listen.port).get())
            }
        } catch {
            for channel in channels { try? await channel.close() }
            throw AgentError(.bindFailed, "cannot serve on \(listen?.description ?? unixSocketPath ?? "nothing")", underlying: "\(error)")
        }
        let addresses = channels.compactMap { $0.localAddress?.description }
        logger.info("serving /healthz and /metrics", metadata: ["listen": "\(addresses.joined(separator: ", "))"])
        try? await gracefulShutdown()
        for channel in channels { try? await channel.close() }
        if let unixSocketPath { unlink(unixSocketPath) }
    }
}

/// Answers one request, then closes the connection.
private final class RequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: StatusServer
    private var head: HTTPRequestHead?

    init(server: StatusServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let server = self.server
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.makeFutureWithTask {
                await server.respond(method: request.method.rawValue, uri: request.uri)
            }.whenSuccess { response in
                Self.write(response, for: request, context: bound.value)
            }
        }
    }

    /// A malformed request was answered 400 by NIO's error handler; close the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private static func write(_ response: StatusServer.Response, for request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.utf8.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if request.method != .HEAD {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(string: response.body)))), promise: nil)
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
