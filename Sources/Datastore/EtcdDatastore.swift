#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization
import HTTPTransport
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The etcd v3 backend, speaking etcd's JSON gateway (`/v3/kv/range`, `put`, `deleterange`,
/// `txn`, `/v3/lease/grant|keepalive|revoke`, `/v3/watch`) over a small built-in HTTP/1.1
/// client, so plugin binaries need no HTTP stack.
///
/// Failover: requests go to the endpoint that answered last; when it refuses, times out or
/// reports no leader, the next endpoint is tried, round after round until
/// `operationTimeoutMilliseconds` passes (or, sooner, after three rounds in which every
/// endpoint refused the connection); then ``DatastoreError/Code/unavailable`` names every
/// endpoint and its last error. Reads, puts, deletes and lease keep-alives are retried on any
/// endpoint; a compare-and-swap or lease grant whose request may have reached a server is not
/// retried blindly (its outcome would be unknown) and fails with `.unavailable`.
///
/// Security (``EtcdSecurity``): `https://` endpoints verify the server against the CA file and
/// may present a client certificate; with a user name every request carries an auth token from
/// `/v3/auth/authenticate`, obtained per endpoint (etcd's simple tokens are per member) and
/// renewed once when etcd calls it invalid or expired. A TLS or authentication failure is a
/// configuration error: thrown at once (``DatastoreError/Code/tlsFailed``,
/// ``DatastoreError/Code/authenticationFailed``), naming the endpoint, never retried.
///
/// Connections are kept alive: after a complete response the connection waits, one per
/// endpoint, for the next request, so a plugin's ADD pays one TCP (and TLS) handshake rather
/// than one per request. A kept connection is checked before use (a server that closed it is
/// seen then, and a new one is made); a compare-and-swap, which is never retried blindly, only
/// goes over a connection that has been idle for less than ``unsafeRequestIdleMilliseconds``
/// (default 2 s).
/// Watches have connections of their own.
///
/// Bounded: one attempt takes at most `requestTimeoutMilliseconds` to connect plus as much
/// again for the whole exchange (a server trickling bytes cannot stretch it), so an operation
/// ends within about `operationTimeoutMilliseconds` plus two request timeouts.
public final class EtcdDatastore: Datastore {
    public let endpoints: [HTTPEndpoint]
    public let requestTimeoutMilliseconds: Int
    public let operationTimeoutMilliseconds: Int
    public let security: EtcdSecurity
    private let preferred = Mutex<Int>(0)
    /// Loaded on the first `https://` connection: a plain store never touches OpenSSL.
    let tlsContext = Mutex<TLSContext?>(nil)
    /// Auth tokens by endpoint index.
    let tokens = Mutex<[Int: String]>([:])
    /// One idle kept-alive connection per endpoint index, and when it became idle.
    let idle: [IdleConnection]
    /// How long a kept connection may have been idle and still carry a request that is not
    /// retried blindly (a compare-and-swap, a lease grant): a server closing it at that moment
    /// would leave the outcome unknown, so only a recently used connection is trusted with one.
    public let unsafeRequestIdleMilliseconds: Int64
    /// Connections made so far (not reused ones), for tests and diagnostics.
    public var connectionsOpened: Int { opened.withLock { $0 } }
    let opened = Mutex<Int>(0)

    public init(
        endpoints: [HTTPEndpoint], security: EtcdSecurity = .none, requestTimeoutMilliseconds: Int = 3000,
        operationTimeoutMilliseconds: Int = 15000, unsafeRequestIdleMilliseconds: Int64 = 2_000
    ) {
        self.unsafeRequestIdleMilliseconds = unsafeRequestIdleMilliseconds
        self.endpoints = endpoints
        self.security = security
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.operationTimeoutMilliseconds = operationTimeoutMilliseconds
        self.idle = endpoints.map { _ in IdleConnection() }
    }

    // MARK: Requests with failover

    private func call<Request: Encodable, Response: Decodable & Sendable>(
        _ path: String, _ request: Request, as type: Response.Type, idempotent: Bool
    ) async throws -> Response {
        let body = Array(try JSONEncoder().encode(request))
        return try await BlockingThread.run { [self] in
            try exchange(path, body: body, idempotent: idempotent) { data in
                try JSONDecoder().decode(Response.self, from: Data(data))
            }
        }
    }

    /// One request with failover; `decode` turns a 200 body into the result.
    func exchange<Result>(
        _ path: String, body: [UInt8], idempotent: Bool, decode: ([UInt8]) throws -> Result
    ) throws -> Result {
        guard !endpoints.isEmpty else { throw DatastoreError(.invalidStoreURL, "no etcd endpoints") }
        let deadline = FileSystem.monotonicMilliseconds() + Int64(operationTimeoutMilliseconds)
        var lastErrors: [String: String] = [:]
        var start = preferred.withLock { $0 }
        // Rounds in which every endpoint refused the connection: nothing listens at all (as
        // opposed to an election, where members answer with errors or slowly). Give up early.
        var refusedRounds = 0
        while true {
            var refused = 0
            for step in 0..<endpoints.count {
                let index = (start + step) % endpoints.count
                let endpoint = endpoints[index]
                do {
                    // A second try only with a fresh token, when etcd said the cached one expired.
                    var renewed = false
                    while true {
                        let token = try authorization(endpoint: index)
                        let (head, response) = try post(
                            index: index, path: path, body: body, authorization: token, idempotent: idempotent)
                        if head.status == 200 {
                            preferred.withLock { $0 = index }
                            do { return try decode(response) } catch let error as DatastoreError { throw error } catch {
                                throw DatastoreError(.protocolError, "\(path): undecodable response: \(error)", endpoint: endpoint.description)
                            }
                        }
                        let error = Self.serverError(status: head.status, body: response, endpoint: endpoint)
                        if token != nil, !renewed, Self.isStaleToken(error) {
                            forgetToken(endpoint: index)
                            renewed = true
                            continue
                        }
                        guard error.code == .unavailable else { throw error }
                        lastErrors[endpoint.description] = error.message
                        break
                    }
                } catch let failure as HTTPConnection.Failure {
                    if failure.error.code == .tlsFailed { throw DatastoreError(failure.error) }
                    lastErrors[endpoint.description] = failure.error.message
                    if failure.stage == .connecting && failure.error.errno == ECONNREFUSED { refused += 1 }
                    if failure.stage == .exchanging && !idempotent {
                        throw DatastoreError(
                            .unavailable, "\(path): \(failure.error.message); the outcome is unknown",
                            errno: failure.error.errno, endpoint: endpoint.description)
                    }
                }
                if FileSystem.monotonicMilliseconds() >= deadline { break }
            }
            if FileSystem.monotonicMilliseconds() >= deadline { break }
            refusedRounds = refused == endpoints.count ? refusedRounds + 1 : 0
            if refusedRounds >= 3 { break }
            start = 0
            usleep(200_000)
        }
        let summary = endpoints.map { "\($0): \(lastErrors[$0.description] ?? "not tried")" }.joined(separator: "; ")
        throw DatastoreError(.unavailable, "no etcd endpoint answered \(path): \(summary)")
    }

    /// A kept-alive connection waiting for the next request to its endpoint.
    /// Maps a gateway error body to a ``DatastoreError``; `.unavailable` means "try elsewhere".
    static func serverError(status: Int, body: [UInt8], endpoint: HTTPEndpoint) -> DatastoreError {
        let parsed = try? JSONDecoder().decode(Etcd.ErrorBody.self, from: Data(body))
        let text = parsed?.text ?? String(decoding: body.prefix(200), as: UTF8.self)
        let retryable = ["no leader", "leader changed", "not capable", "stopped", "unhealthy", "timed out", "not ready"]
        if text.contains("lease not found") {
            return DatastoreError(.leaseNotFound, text, endpoint: endpoint.description)
        }
        if let authentication = authenticationError(text, endpoint: endpoint) { return authentication }
        if status >= 500 && (parsed?.code == 14 || retryable.contains(where: text.contains)) {
            return DatastoreError(.unavailable, text, endpoint: endpoint.description)
        }
        if status == 503 || parsed?.code == 14 || retryable.contains(where: text.contains) {
            return DatastoreError(.unavailable, text, endpoint: endpoint.description)
        }
        return DatastoreError(.serverError, "HTTP \(status): \(text)", endpoint: endpoint.description)
    }

    // MARK: Datastore

    public func get(_ key: String) async throws -> KeyValue? {
        let response = try await call(
            "/v3/kv/range", Etcd.RangeRequest(key: Etcd.base64(key)), as: Etcd.RangeResponse.self, idempotent: true)
        return response.kvs?.first?.keyValue
    }

    public func list(prefix: String) async throws -> Listing {
        let request = Etcd.RangeRequest(
            key: Etcd.base64(prefix.isEmpty ? "\0" : prefix), range_end: Etcd.base64(Etcd.rangeEnd(forPrefix: prefix)))
        let response = try await call("/v3/kv/range", request, as: Etcd.RangeResponse.self, idempotent: true)
        return Listing(items: (response.kvs ?? []).map(\.keyValue), revision: response.header?.revision?.value ?? 0)
    }

    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: LeaseID?) async throws -> Int64 {
        guard !key.isEmpty else { throw DatastoreError(.invalidKey, "empty key") }
        let request = Etcd.PutRequest(
            key: Etcd.base64(key), value: Etcd.base64(value), lease: lease.map { Etcd.Int64Value($0.rawValue) })
        let response = try await call("/v3/kv/put", request, as: Etcd.PutResponse.self, idempotent: true)
        return response.header?.revision?.value ?? 0
    }

    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        let response = try await call(
            "/v3/kv/deleterange", Etcd.DeleteRangeRequest(key: Etcd.base64(key)), as: Etcd.DeleteRangeResponse.self,
            idempotent: true)
        return (response.deleted?.value ?? 0) > 0
    }

    public func compareAndSwap(
        _ key: String, expecting condition: Condition, value: [UInt8]?, lease: LeaseID?
    ) async throws -> SwapResult {
        guard !key.isEmpty else { throw DatastoreError(.invalidKey, "empty key") }
        var transaction = DatastoreTransaction()
        transaction.require(key, condition)
        if let value { transaction.put(key, value: value, lease: lease) } else { transaction.delete(key) }
        let result = try await commit(transaction)
        return SwapResult(succeeded: result.succeeded, revision: result.revision, current: result.current[key])
    }

    /// One `/v3/kv/txn`: a compare per condition, the writes as the success branch, a range
    /// read of every conditioned key as the failure branch.
    public func commit(_ transaction: DatastoreTransaction) async throws -> TransactionResult {
        try transaction.validate()
        let compares = transaction.conditions.map { requirement in
            let key = Etcd.base64(requirement.key)
            return switch requirement.condition {
            case .absent:
                Etcd.Compare(key: key, target: "VERSION", result: "EQUAL", version: Etcd.Int64Value(0))
            case .modRevision(let revision):
                Etcd.Compare(key: key, target: "MOD", result: "EQUAL", mod_revision: Etcd.Int64Value(revision))
            }
        }
        let operations = transaction.effectiveOperations.map { operation in
            switch operation {
            case .put(let key, let value, let lease):
                Etcd.RequestOp(request_put: Etcd.PutRequest(
                    key: Etcd.base64(key), value: Etcd.base64(value), lease: lease.map { Etcd.Int64Value($0.rawValue) }))
            case .delete(let key):
                Etcd.RequestOp(request_delete_range: Etcd.DeleteRangeRequest(key: Etcd.base64(key)))
            }
        }
        let request = Etcd.TxnRequest(
            compare: compares, success: operations,
            failure: transaction.conditions.map { Etcd.RequestOp(request_range: Etcd.RangeRequest(key: Etcd.base64($0.key))) })
        let response = try await call("/v3/kv/txn", request, as: Etcd.TxnResponse.self, idempotent: false)
        let succeeded = response.succeeded ?? false
        var current: [String: KeyValue] = [:]
        if !succeeded {
            for response in response.responses ?? [] {
                if let keyValue = response.response_range?.kvs?.first?.keyValue { current[keyValue.key] = keyValue }
            }
        }
        return TransactionResult(succeeded: succeeded, revision: response.header?.revision?.value ?? 0, current: current)
    }

    public func grantLease(ttlSeconds: Int64) async throws -> Lease {
        let response = try await call(
            "/v3/lease/grant", Etcd.LeaseGrantRequest(TTL: Etcd.Int64Value(ttlSeconds), ID: Etcd.Int64Value(0)),
            as: Etcd.LeaseGrantResponse.self, idempotent: false)
        if let error = response.error, !error.isEmpty { throw DatastoreError(.serverError, error) }
        guard let id = response.ID?.value else { throw DatastoreError(.protocolError, "lease grant without ID") }
        return Lease(id: LeaseID(id), ttlSeconds: response.TTL?.value ?? ttlSeconds)
    }

    @discardableResult
    public func keepAlive(_ lease: LeaseID) async throws -> Int64 {
        let body = Array(try JSONEncoder().encode(Etcd.LeaseIDRequest(ID: Etcd.Int64Value(lease.rawValue))))
        let ttl: Int64 = try await BlockingThread.run { [self] in
            try keepAliveOnce(body: body)
        }
        guard ttl > 0 else { throw DatastoreError(.leaseNotFound, "lease \(lease) does not exist or expired") }
        return ttl
    }

    /// The keep-alive endpoint is a stream: read the first message, then hang up.
    private func keepAliveOnce(body: [UInt8]) throws -> Int64 {
        for attempt in 0..<endpoints.count * 3 {
            let endpoint = endpoints[(preferred.withLock { $0 } + attempt) % endpoints.count]
            do {
                let index = endpoints.firstIndex(of: endpoint) ?? 0
                let token = try authorization(endpoint: index)
                var connection = try connect(to: endpoint)
                try connection.sendPost(path: "/v3/lease/keepalive", body: body, authorization: token)
                let head = try connection.readHead()
                var remaining = head.contentLength
                var splitter = JSONObjectSplitter()
                var collected: [UInt8] = []
                while let piece = try connection.nextBodyPiece(head, remaining: &remaining) {
                    collected += piece
                    if let object = splitter.append(piece).first {
                        if head.status != 200 { break }
                        let envelope = try JSONDecoder().decode(
                            Etcd.StreamEnvelope<Etcd.LeaseKeepAliveResponse>.self, from: Data(object))
                        if let error = envelope.error {
                            let mapped = Self.serverError(status: 500, body: Array((try? JSONEncoder().encode(error)) ?? Data()), endpoint: endpoint)
                            if mapped.code != .unavailable { throw mapped }
                            break
                        }
                        return envelope.result?.TTL?.value ?? 0
                    }
                }
                let error = Self.serverError(status: head.status, body: collected, endpoint: endpoint)
                if Self.isStaleToken(error) {
                    forgetToken(endpoint: index)
                } else if error.code != .unavailable {
                    throw error
                }
            } catch let failure as HTTPConnection.Failure {
                if failure.error.code == .tlsFailed { throw DatastoreError(failure.error) }
                usleep(100_000)
            }
        }
        throw DatastoreError(.unavailable, "no etcd endpoint answered the lease keep-alive")
    }

    public func revokeLease(_ lease: LeaseID) async throws {
        _ = try await call(
            "/v3/lease/revoke", Etcd.LeaseIDRequest(ID: Etcd.Int64Value(lease.rawValue)), as: Etcd.PutResponse.self,
            idempotent: true)
    }

    public func watch(prefix: String, fromRevision revision: Int64?) -> AsyncThrowingStream<WatchEvent, any Error> {
        EtcdWatch(store: self, prefix: prefix, fromRevision: revision).start()
    }
}
