#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP request to the API server.
struct HTTPRequest: Sendable {
    var method: HTTPMethod
    /// Path and query (`/api/v1/pods?watch=true`).
    var target: String
    var contentType: String?
    var body: [UInt8]?
}

/// A complete HTTP answer.
struct HTTPResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
}

/// HTTP/1.1 over TCP, with TLS when the server is `https`: one connection per request (watches
/// hold theirs for as long as they run). Maps transport failures to ``KubernetesError``
/// (refused, TLS with the reason, other) and HTTP error statuses to the API's errors.
final class HTTPTransport: Sendable {
    let configuration: ClientConfiguration
    private let sslContext: NIOSSLContext?
    private let group: any EventLoopGroup

    init(configuration: ClientConfiguration, group: any EventLoopGroup) throws {
        self.configuration = configuration
        self.group = group
        guard configuration.scheme == "https" else { sslContext = nil; return }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            if configuration.insecureSkipTLSVerify {
                tls.certificateVerification = .none
            } else if let pem = configuration.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(pem))
            }
            if let certificate = configuration.clientCertificate {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate.certificatePEM).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: certificate.privateKeyPEM, format: .pem))
            }
            sslContext = try NIOSSLContext(configuration: tls)
        } catch {
            throw KubernetesError(.invalidConfiguration, "TLS material for \(configuration.server) is invalid: \(error)")
        }
    }

    private var server: String { configuration.server }

    /// Sends `request` and reads the whole answer. A GET whose connection failed before any
    /// answer (closed or reset under the request) is tried once more on a new connection.
    func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            return try await executeOnce(request)
        } catch let error as KubernetesError where error.code == .transportFailed && request.method == .GET {
            return try await executeOnce(request)
        }
    }

    private func executeOnce(_ request: HTTPRequest) async throws -> HTTPResponse {
        let timeout = configuration.requestTimeout
        return try await withThrowingTaskGroup(of: HTTPResponse?.self) { group in
            group.addTask {
                var head: HTTPResponseHead?
                var body: [UInt8] = []
                try await self.exchange(request) { part in
                    switch part {
                    case .head(let value): head = value
                    case .body(var buffer): body += buffer.readBytes(length: buffer.readableBytes) ?? []
                    case .end: return false
                    }
                    return true
                }
                guard let head else { throw KubernetesError(.transportFailed, "connection closed before an answer", server: self.server) }
                return HTTPResponse(status: Int(head.status.code), headers: head.headers, body: body)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            if let response = try await group.next(), let response { return response }
            throw KubernetesError(.transportFailed, "no answer within \(timeout)", server: self.server)
        }
    }

    /// Sends `request`; hands each response part to `receive` until it returns false or the
    /// answer ends. Runs until then: a watch keeps the connection for its whole life.
    func exchange(_ request: HTTPRequest, receive: (HTTPClientResponsePart) async throws -> Bool) async throws {
        let channel = try await connect()
        do {
            try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.target)
                let hostHeader = configuration.port == (configuration.scheme == "https" ? 443 : 80)
                    ? configuration.host : "\(configuration.host):\(configuration.port)"
                head.headers.add(name: "Host", value: hostHeader)
                head.headers.add(name: "Accept", value: "application/json")
                head.headers.add(name: "User-Agent", value: "swift-cni-kubernetes")
                head.headers.add(name: "Connection", value: "close")
                if let token = try configuration.token?.current() {
                    head.headers.add(name: "Authorization", value: "Bearer \(token)")
                }
                if let body = request.body {
                    head.headers.add(name: "Content-Type", value: request.contentType ?? "application/json")
                    head.headers.add(name: "Content-Length", value: String(body.count))
                }
                do {
                    try await outbound.write(.head(head))
                    if let body = request.body { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                    try await outbound.write(.end(nil))
                } catch {
                    // The channel closed under the write (a failed TLS handshake, a reset): the
                    // inbound side carries the reason, which says more than "closed channel".
                    for try await _ in inbound {}
                    throw error
                }
                for try await part in inbound {
                    guard try await receive(part) else { return }
                }
            }
        } catch let error as KubernetesError {
            throw error
        } catch {
            throw mapTransportError(error)
        }
    }

    private func connect() async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        let sslContext = self.sslContext
        let host = configuration.host
        let sniName = configuration.tlsServerName ?? (Self.isIPAddress(host) ? nil : host)
        let initialize: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sslContext {
                    let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: sniName)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                // Closed on deinit: when the connect fails after this initializer ran, the wrapper
                // is dropped unused, and a writer dropped unfinished would otherwise trap.
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(synchronouslyWrapping: channel)
            }
        }
        do {
            if let connector = configuration.socketConnector {
                let descriptor = try await connector()
                return try await ClientBootstrap(group: group).withConnectedSocket(descriptor, channelInitializer: initialize)
            }
            return try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(Int64(configuration.requestTimeout.components.seconds)))
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .connect(host: host, port: configuration.port, channelInitializer: initialize)
        } catch {
            throw mapTransportError(error)
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// A transport failure as a ``KubernetesError`` naming the server and the reason.
    func mapTransportError(_ error: any Error) -> KubernetesError {
        if let error = error as? KubernetesError { return error }
        let text = String(describing: error)
        if Self.isConnectionRefused(error) {
            return KubernetesError(.connectionRefused, "connection to \(server) refused", server: server)
        }
        if let ssl = error as? NIOSSLError {
            return KubernetesError(.tlsFailed, "TLS handshake with \(server) failed: \(Self.describe(ssl))", server: server)
        }
        if let extra = error as? NIOSSLExtraError {
            return KubernetesError(.tlsFailed, "TLS with \(server) failed: \(extra)", server: server)
        }
        if error is CancellationError { return KubernetesError(.transportFailed, "cancelled", server: server) }
        return KubernetesError(.transportFailed, "request to \(server) failed: \(text)", server: server)
    }

    static func isConnectionRefused(_ error: any Error) -> Bool {
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return true }
        if let connection = error as? NIOConnectionError {
            return connection.connectionErrors.contains { isConnectionRefused($0.error) }
        }
        return String(describing: error).contains("Connection refused")
    }

    private static func describe(_ error: NIOSSLError) -> String {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not signed by a trusted CA (certificate verify failed): \(text)"
        }
        return text
    }
}
