import Kubernetes
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One request as the router sees it.
struct ServerRequest: Sendable {
    var method: HTTPMethod
    var path: String
    var query: [String: String]
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The client presented a certificate the server's client CA verified.
    var hasClientCertificate: Bool

    var isWatch: Bool { method == .GET && (query["watch"] == "true" || query["watch"] == "1") }
}

/// What the router answers.
enum ServerResponse: Sendable {
    case json(status: Int, body: JSONObject, headers: [(String, String)])
    case text(status: Int, body: String)
    /// A watch: the streamer writes events until the watch ends.
    case watch(WatchStreamer)

    static func error(_ error: APIError) -> ServerResponse {
        var headers: [(String, String)] = []
        if let retryAfter = error.retryAfter { headers.append(("Retry-After", String(retryAfter))) }
        return .json(status: error.code, body: error.status.json, headers: headers)
    }

    var statusCode: Int {
        switch self {
        case .json(let status, _, _), .text(let status, _): status
        case .watch: 200
        }
    }
}

typealias ServerConnection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

/// HTTP/1.1 (keep-alive) on NIO, TLS optional; hands each complete request to `handle`.
enum HTTPServer {
    static let maximumBodySize = 3 * 1024 * 1024

    /// Listens on `host:port`, or on `boundSocket` (a socket the caller bound and made
    /// listen, for instance inside another network namespace).
    static func bind(
        host: String, port: Int, boundSocket: CInt?, sslContext: NIOSSLContext?, group: any EventLoopGroup
    ) async throws -> NIOAsyncChannel<ServerConnection, Never> {
        let initializer: @Sendable (any Channel) -> EventLoopFuture<ServerConnection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sslContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext)) }
                try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                // Closed on deinit: a connection accepted while the server shuts down is dropped
                // unserved, and a writer dropped unfinished would otherwise trap (NIOAsyncWriter).
                return try ServerConnection(synchronouslyWrapping: channel)
            }
        }
        let bootstrap = ServerBootstrap(group: group).serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        if let boundSocket { return try await bootstrap.bind(boundSocket, childChannelInitializer: initializer) }
        return try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
    }

    /// Serves one connection until the client closes it, a watch ends, or `handle` fails.
    static func serve(
        _ connection: ServerConnection, tls: Bool, handle: @escaping @Sendable (ServerRequest) async -> ServerResponse
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            var clientCertificate: Bool?
            for try await part in inbound {
                switch part {
                case .head(let value):
                    head = value
                    body = []
                case .body(var buffer):
                    // kube-apiserver refuses bodies over 3 MiB; keep counting, stop storing.
                    if body.count <= maximumBodySize { body += buffer.readBytes(length: buffer.readableBytes) ?? [] }
                case .end:
                    guard let requestHead = head else { continue }
                    head = nil
                    if clientCertificate == nil {
                        let certificate = tls ? (try? await connection.channel.nioSSL_peerCertificate().get()) : nil
                        clientCertificate = certificate != nil
                    }
                    let (path, query) = split(requestHead.uri)
                    let request = ServerRequest(
                        method: requestHead.method, path: path, query: QueryEncoding.decode(query), headers: requestHead.headers,
                        body: body, hasClientCertificate: clientCertificate ?? false)
                    let response = body.count > maximumBodySize
                        ? .error(APIError(413, reason: "RequestEntityTooLarge", message: "the request is too large: more than \(maximumBodySize) bytes"))
                        : await handle(request)
                    let keepAlive = requestHead.isKeepAlive
                    switch response {
                    case .json(let status, let object, let headers):
                        try await write(status: status, contentType: "application/json", body: object.encodedJSON(),
                                        headers: headers, keepAlive: keepAlive, version: requestHead.version, to: outbound)
                    case .text(let status, let text):
                        try await write(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8),
                                        headers: [], keepAlive: keepAlive, version: requestHead.version, to: outbound)
                    case .watch(let streamer):
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: "application/json")
                        headers.add(name: "Transfer-Encoding", value: "chunked")
                        headers.add(name: "Connection", value: "close")
                        try await outbound.write(.head(HTTPResponseHead(version: requestHead.version, status: .ok, headers: headers)))
                        let ended = await streamer.run { line in
                            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: line))))
                        }
                        if ended == .normally { try await outbound.write(.end(nil)) }
                        return
                    }
                    if !keepAlive { return }
                }
            }
        }
    }

    static func split(_ uri: String) -> (String, Substring) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), uri[uri.index(after: mark)...])
    }

    static func write(
        status: Int, contentType: String, body: [UInt8], headers extra: [(String, String)], keepAlive: Bool, version: HTTPVersion,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Cache-Control", value: "no-cache, private")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        for (name, value) in extra { headers.add(name: name, value: value) }
        try await outbound.write(.head(HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: headers)))
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
        try await outbound.write(.end(nil))
    }
}
