import NIOCore
import NIOHTTP1
import NIOPosix

/// The client side of a ``StatusServer``: one `GET` over the agent's unix socket or TCP
/// address, on NIOHTTP1, answered as a ``StatusServer/Response``. The agents' command lines use
/// it (`swift-calico-node status`).
///
/// ```swift
/// let client = StatusClient(.unixSocket(stateDirectory + "/status.sock"))
/// let response = try await client.get("/status")
/// guard response.status == 200 else { … }
/// ```
public struct StatusClient: Sendable {
    /// Where the agent serves.
    public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
        case unixSocket(String)
        case tcp(ListenAddress)

        public var description: String {
            switch self {
            case .unixSocket(let path): path
            case .tcp(let address): address.description
            }
        }
    }

    public var endpoint: Endpoint
    /// The bound on connecting and on the whole exchange.
    public var timeout: Duration

    public init(_ endpoint: Endpoint, timeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.timeout = timeout
    }

    /// `GET path`; the answer whatever its status. Throws ``AgentError/Code/unreachable`` when
    /// the agent does not answer (not running, wrong socket) and
    /// ``AgentError/Code/malformedResponse`` when the answer is not HTTP.
    public func get(_ path: String) async throws(AgentError) -> StatusServer.Response {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let answer = eventLoop.makePromise(of: StatusServer.Response.self)
        let timeout = TimeAmount(self.timeout)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(answer: answer))
                }
            }
        let channel: any Channel
        do {
            channel = switch endpoint {
            case .unixSocket(let path): try await bootstrap.connect(unixDomainSocketPath: path).get()
            case .tcp(let address): try await bootstrap.connect(host: address.host, port: address.port).get()
            }
        } catch {
            answer.fail(error)
            throw AgentError(.unreachable, "cannot reach the agent at \(endpoint)", underlying: "\(error)")
        }
        let deadline = eventLoop.scheduleTask(in: timeout) {
            answer.fail(AgentError(.unreachable, "no answer from the agent at \(endpoint) within \(self.timeout)"))
        }
        defer { deadline.cancel() }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "localhost")
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        do {
            let response = try await answer.futureResult.get()
            try? await channel.close()
            return response
        } catch let error as AgentError {
            try? await channel.close()
            throw error
        } catch {
            try? await channel.close()
            throw AgentError(.malformedResponse, "the agent at \(endpoint) answered GET \(path) with no valid HTTP", underlying: "\(error)")
        }
    }
}

/// Collects one response (head and body) and completes the promise at its end, or fails it
/// when the connection closes first.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    let answer: EventLoopPromise<StatusServer.Response>
    private var head: HTTPResponseHead?
    private var body = ""

    init(answer: EventLoopPromise<StatusServer.Response>) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body(let buffer): body += String(buffer: buffer)
        case .end:
            guard let head else { return }
            answer.succeed(StatusServer.Response(
                status: Int(head.status.code), body: body, contentType: head.headers.first(name: "Content-Type") ?? ""))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answer.fail(AgentError(.malformedResponse, "the agent closed the connection before a complete answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answer.fail(error)
        context.close(promise: nil)
    }
}
