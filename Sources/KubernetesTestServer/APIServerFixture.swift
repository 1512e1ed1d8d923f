import Datastore
import Kubernetes
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// TLS material of the fixture (PEM files).
public struct FixtureTLS: Sendable {
    public var certificatePath: String
    public var privateKeyPath: String
    /// When set, clients may authenticate with a certificate this CA signed.
    public var clientCertificateAuthorityPath: String?

    public init(certificatePath: String, privateKeyPath: String, clientCertificateAuthorityPath: String? = nil) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.clientCertificateAuthorityPath = clientCertificateAuthorityPath
    }
}

/// One request the fixture answered (its fault log, for tests that assert what a client did).
public struct LoggedRequest: Sendable, Hashable, CustomStringConvertible {
    public var method: String
    public var path: String
    public var query: [String: String]
    /// The HTTP status answered (200 for an accepted watch).
    public var status: Int
    public var isWatch: Bool
    /// When it arrived, counted from the fixture's start.
    public var at: Duration

    public var description: String {
        let query = self.query.keys.sorted().map { "\($0)=\(self.query[$0]!)" }.joined(separator: "&")
        return "\(method) \(path)\(query.isEmpty ? "" : "?" + query) → \(status)"
    }
}

/// A Kubernetes API server for tests, on SwiftNIO, backed by a `Datastore`: the discovery
/// documents, namespaces, nodes, pods and network policies (namespaced and cluster-scoped),
/// label and field selectors, paging, watches with bookmarks, JSON, merge and strategic-merge
/// patches, status subresources, graceful pod deletion, the defaults kube-apiserver 1.20
/// writes and `Status` errors with its codes, reasons and messages (checked against recorded
/// exchanges of a real 1.20.2 server). resourceVersion is the store's revision; ``compact()``
/// makes older versions answer 410.
///
/// Test-only fault controls: ``compact()``, ``compactStore()``, ``dropWatches()``,
/// ``rejectNextRequests(_:retryAfterSeconds:)`` (429s), ``requests()`` (the request log).
///
/// ```swift
/// let store = try FileDatastore(directory: dir, pollIntervalMilliseconds: 10)
/// let server = try await APIServerFixture.start(store: store)
/// let client = try KubernetesClient(configuration: ClientConfiguration(server: server.url))
/// ```
public final class APIServerFixture: Sendable {
    /// The port it listens on (127.0.0.1 unless told otherwise).
    public let port: Int
    public let host: String
    public let isTLS: Bool
    private let channel: NIOAsyncChannel<ServerConnection, Never>
    private let acceptor: Task<Void, Never>
    private let cache: WatchCache
    private let storage: ObjectStorage
    private let state: NIOLockedValueBox<State>
    private let router: Router

    private struct State {
        var log: [LoggedRequest] = []
        var rejectCount = 0
        var retryAfter = 1
        var tokens: Set<String>?
        let started = ContinuousClock.now
    }

    /// The namespaces that exist from the start, as in a real cluster.
    public static let systemNamespaces = ["default", "kube-node-lease", "kube-public", "kube-system"]

    /// Starts serving. `tokens`: the bearer tokens accepted (nil: no authentication);
    /// `keyPrefix`: where objects live in the store; `bookmarkInterval`: nil for bookmarks as
    /// kube-apiserver 1.20 sends them (one, 2 s before a watch's `timeoutSeconds`), or a
    /// test-only cadence (one every interval and one at the end). `kubelet`: a stand-in kubelet
    /// confirms graceful pod deletes at once (false: pods stay terminating until deleted with
    /// `gracePeriodSeconds=0`, as in a cluster without kubelets). `boundSocket`: serve on this bound, listening socket instead of
    /// binding `host:port` (a socket made inside a lab's network namespace; `host` then only
    /// names it in ``url``).
    public static func start(
        store: any Datastore, host: String = "127.0.0.1", port: Int = 0, boundSocket: CInt? = nil, tls: FixtureTLS? = nil,
        tokens: Set<String>? = nil,
        keyPrefix: String = "/registry/", bookmarkInterval: Duration? = nil, kubelet: Bool = true,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> APIServerFixture {
        var sslContext: NIOSSLContext?
        if let tls {
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)))
            if let authority = tls.clientCertificateAuthorityPath {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authority))
                configuration.certificateVerification = .optionalVerification
            }
            sslContext = try NIOSSLContext(configuration: configuration)
        }
        let systemNamespaces = Self.systemNamespaces
        let layout = KeyLayout(prefix: keyPrefix)
        let cache = WatchCache(store: store, layout: layout)
        try await cache.start()
        let storage = ObjectStorage(store: store, layout: layout, cache: cache)
        // The namespaces kube-apiserver makes at start.
        for name in systemNamespaces {
            do {
                _ = try await storage.create(.namespaces, namespace: nil, body: Namespace(name: name).json)
            } catch let error as APIError where error.code == 409 {}
        }
        let channel = try await HTTPServer.bind(
            host: host, port: port, boundSocket: boundSocket, sslContext: sslContext, group: eventLoopGroup)
        let bound = channel.channel.localAddress?.port ?? port
        return APIServerFixture(
            channel: channel, host: host, port: bound, tls: sslContext != nil, cache: cache, storage: storage, tokens: tokens,
            bookmarkInterval: bookmarkInterval, kubelet: kubelet)
    }

    private init(
        channel: NIOAsyncChannel<ServerConnection, Never>, host: String, port: Int, tls: Bool, cache: WatchCache,
        storage: ObjectStorage, tokens: Set<String>?, bookmarkInterval: Duration?, kubelet: Bool
    ) {
        self.channel = channel
        self.host = host
        self.port = port
        self.isTLS = tls
        self.cache = cache
        self.storage = storage
        let state = NIOLockedValueBox(State(tokens: tokens))
        self.state = state
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let router = Router(
            storage: storage, cache: cache, serverAddress: "\(shownHost):\(port)", bookmarkInterval: bookmarkInterval, kubelet: kubelet)
        self.router = router
        acceptor = Task {
            try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask {
                            await HTTPServer.serve(connection, tls: tls) { request in
                                await Self.handle(request, router: router, state: state)
                            }
                        }
                    }
                }
            }
        }
    }

    private static func handle(_ request: ServerRequest, router: Router, state: NIOLockedValueBox<State>) async -> ServerResponse {
        let arrived = ContinuousClock.now
        let verdict: APIError? = state.withLockedValue { state in
            if let tokens = state.tokens, !request.hasClientCertificate {
                let header = request.headers.first(name: "Authorization") ?? ""
                guard header.hasPrefix("Bearer "), tokens.contains(String(header.dropFirst(7))) else { return .unauthorized }
            }
            if state.rejectCount > 0 {
                state.rejectCount -= 1
                return .tooManyRequests(retryAfter: state.retryAfter)
            }
            return nil
        }
        let response: ServerResponse
        if let verdict { response = .error(verdict) } else { response = await router.route(request) }
        let entry = LoggedRequest(
            method: request.method.rawValue, path: request.path, query: request.query, status: response.statusCode,
            isWatch: request.isWatch, at: arrived - state.withLockedValue { $0.started })
        state.withLockedValue { $0.log.append(entry) }
        return response
    }

    /// `https://127.0.0.1:PORT` (or `http://`).
    public var url: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(isTLS ? "https" : "http")://\(shownHost):\(port)"
    }

    /// Stops listening and ends every watch.
    public func shutdown() async {
        await cache.stop()
        try? await channel.channel.close()
        acceptor.cancel()
    }

    // MARK: Fault controls

    /// Compacts: every change so far is forgotten, so a watch from an older resource version
    /// (or a continue token of an older list) gets 410 Expired.
    public func compact() async { await cache.compact() }

    /// Compacts only the backing store, as `etcdctl compact` under kube-apiserver: continue
    /// tokens of older lists and lists at older versions with a `limit` get 410 Expired, while
    /// watches are still served from the watch cache's window.
    public func compactStore() async { await cache.compactStore() }

    /// Closes every open watch abruptly.
    public func dropWatches() async { await cache.dropAll() }

    /// Sends a bookmark on every watch that allows them, now.
    public func sendBookmarks() async { await cache.announceProgress() }

    /// The next `count` requests (after authentication) answer 429 Too Many Requests with
    /// `Retry-After`.
    public func rejectNextRequests(_ count: Int, retryAfterSeconds: Int = 1) {
        state.withLockedValue {
            $0.rejectCount = count
            $0.retryAfter = retryAfterSeconds
        }
    }

    /// Replaces the accepted bearer tokens (nil: no authentication).
    public func setAcceptedTokens(_ tokens: Set<String>?) { state.withLockedValue { $0.tokens = tokens } }

    /// Every request answered so far, in order.
    public func requests() -> [LoggedRequest] { state.withLockedValue { $0.log } }

    public func clearRequestLog() { state.withLockedValue { $0.log = [] } }

    /// How many watches are open.
    public func openWatches() async -> Int { await cache.watchCount }

    /// The revision the watch cache has reached.
    public func cachedRevision() async -> Int64 { await cache.revision }

    // MARK: Direct access (bypasses HTTP, faults and the request log)

    /// Answers one request in process, as it would over HTTP (no authentication, faults or
    /// request log): the status and the body; for a watch, every event line written until the
    /// watch ends. `target` is the path with its query.
    public func exchange(method: String, target: String, contentType: String? = nil, body: [UInt8] = []) async -> (status: Int, body: [UInt8]) {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        let (path, query) = HTTPServer.split(target)
        let request = ServerRequest(
            method: HTTPMethod(rawValue: method), path: path, query: QueryEncoding.decode(query), headers: headers, body: body,
            hasClientCertificate: false)
        switch await router.route(request) {
        case .json(let status, let object, _): return (status, object.encodedJSON())
        case .text(let status, let text): return (status, Array(text.utf8))
        case .watch(let streamer):
            let lines = NIOLockedValueBox<[UInt8]>([])
            _ = await streamer.run { line in lines.withLockedValue { $0 += line } }
            return (200, lines.withLockedValue { $0 })
        }
    }

    public func create(_ resource: ResourceType, namespace: String? = nil, object: JSONObject) async throws -> JSONObject {
        try await Self.mapped { try await storage.create(resource, namespace: namespace, body: object) }
    }

    public func get(_ resource: ResourceType, namespace: String? = nil, name: String) async throws -> JSONObject {
        try await Self.mapped { try await storage.get(resource, namespace: namespace, name: name) }
    }

    public func update(_ resource: ResourceType, namespace: String? = nil, object: JSONObject) async throws -> JSONObject {
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        return try await Self.mapped { try await storage.update(resource, namespace: namespace, name: name, body: object, status: false) }
    }

    public func delete(_ resource: ResourceType, namespace: String? = nil, name: String) async throws {
        _ = try await Self.mapped { try await storage.delete(resource, namespace: namespace, name: name) }
    }

    private static func mapped<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as APIError {
            throw KubernetesError.fromStatus(error.status, httpStatus: error.code, server: nil)
        }
    }
}
