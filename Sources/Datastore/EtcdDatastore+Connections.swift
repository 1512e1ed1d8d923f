import HTTPTransport
import Synchronization

/// Connections of the etcd client: made per endpoint (TLS loaded once), kept alive one per
/// endpoint between requests.
extension EtcdDatastore {
    /// A connection to `endpoint`, over TLS for `https://` (the TLS context is loaded once).
    func connect(to endpoint: HTTPEndpoint) throws(HTTPConnection.Failure) -> HTTPConnection {
        opened.withLock { $0 += 1 }
        guard endpoint.usesTLS else {
            return try HTTPConnection(endpoint: endpoint, timeoutMilliseconds: requestTimeoutMilliseconds)
        }
        let context: TLSContext
        do {
            context = try tlsContext.withLock { (cached) throws(HTTPTransportError) -> TLSContext in
                if let cached { return cached }
                let created = try TLSContext(
                    security.tlsConfiguration, endpoints: endpoints.map(\.description).joined(separator: ","))
                cached = created
                return created
            }
        } catch {
            throw HTTPConnection.Failure(stage: .connecting, error: error)
        }
        return try HTTPConnection(endpoint: endpoint, timeoutMilliseconds: requestTimeoutMilliseconds, tls: context)
    }

    /// One POST to endpoint `index` over its kept connection when there is one, else a new one;
    /// the connection is kept afterwards when the server allows.
    func post(
        index: Int, path: String, body: [UInt8], authorization: String?, idempotent: Bool
    ) throws(HTTPConnection.Failure) -> (HTTPConnection.Head, [UInt8]) {
        let maximumIdle = idempotent ? nil : unsafeRequestIdleMilliseconds
        if var kept = idle[index].take(maximumIdleMilliseconds: maximumIdle, timeoutMilliseconds: requestTimeoutMilliseconds) {
            do {
                let result = try Self.roundTrip(&kept, path: path, body: body, authorization: authorization)
                idle[index].keep(kept)
                return result
            } catch {
                // The kept connection died between its check and the request. A request that
                // may be retried goes once more on a new connection, as if none had been kept.
                guard idempotent else { throw error }
            }
        }
        var connection = try connect(to: endpoints[index])
        let result = try Self.roundTrip(&connection, path: path, body: body, authorization: authorization)
        idle[index].keep(connection)
        return result
    }

    private static func roundTrip(
        _ connection: inout HTTPConnection, path: String, body: [UInt8], authorization: String?
    ) throws(HTTPConnection.Failure) -> (HTTPConnection.Head, [UInt8]) {
        try connection.sendPost(path: path, body: body, authorization: authorization, keepAlive: true)
        let head = try connection.readHead()
        return (head, try connection.readBody(head))
    }

    /// A kept-alive connection waiting for the next request to its endpoint.
    final class IdleConnection: @unchecked Sendable {
        // Guarded by `lock`.
        private var connection: HTTPConnection?
        private var since: Int64 = 0
        private let lock = Mutex<Void>(())

        /// The kept connection, if one is idle (and, with a limit, idle for less than it) and
        /// still fit for a request (``HTTPConnection/reuse(timeoutMilliseconds:)``), with a new
        /// exchange deadline.
        func take(maximumIdleMilliseconds: Int64?, timeoutMilliseconds: Int) -> HTTPConnection? {
            let now = FileSystem.monotonicMilliseconds()
            let taken = lock.withLock { _ -> HTTPConnection? in
                guard let kept = connection.take() else { return nil }
                if let maximumIdleMilliseconds, now - since >= maximumIdleMilliseconds { return nil }
                return kept
            }
            guard var kept = taken, kept.reuse(timeoutMilliseconds: timeoutMilliseconds) else { return nil }
            return kept
        }

        /// Keeps `connection` for the next request, closing any connection kept before. One the
        /// server will not keep open is refused later, by `take`.
        func keep(_ kept: consuming HTTPConnection) {
            let now = FileSystem.monotonicMilliseconds()
            var incoming: HTTPConnection? = kept
            lock.withLock { _ in
                swap(&connection, &incoming)
                since = now
            }
            // `incoming` now holds the connection kept before, if any: closed here.
        }
    }
}
