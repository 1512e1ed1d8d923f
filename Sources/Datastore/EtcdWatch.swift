#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
import HTTPTransport

/// One etcd watch: a thread reads the gateway's chunked stream of `{"result":…}` objects and
/// feeds an AsyncThrowingStream. When the connection drops it resumes on the next endpoint
/// from the revision after the last event seen, so no change is skipped or repeated.
struct EtcdWatch: Sendable {
    let store: EtcdDatastore
    let prefix: String
    let fromRevision: Int64?

    /// Shared between the reading thread and the stream's termination handler.
    final class Control: Sendable {
        private let state = Mutex<(descriptor: Int32?, cancelled: Bool)>((nil, false))

        var isCancelled: Bool { state.withLock { $0.cancelled } }

        func cancel() {
            state.withLock { state in
                state.cancelled = true
                if let descriptor = state.descriptor { HTTPConnection.interrupt(descriptor: descriptor) }
            }
        }

        /// Registers the socket being read; false when already cancelled.
        func register(_ descriptor: Int32?) -> Bool {
            state.withLock { state in
                state.descriptor = descriptor
                return !state.cancelled
            }
        }
    }

    func start() -> AsyncThrowingStream<WatchEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent.self)
        let control = Control()
        continuation.onTermination = { _ in control.cancel() }
        do {
            try BlockingThread.detach { [self] in
                do {
                    try run(control: control, continuation: continuation)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
        } catch {
            continuation.finish(throwing: error)
        }
        return stream
    }

    private func run(control: Control, continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation) throws {
        var next = fromRevision
        var failures = 0
        var index = 0
        var lastError = "no endpoint"
        let endpoints = store.endpoints
        guard !endpoints.isEmpty else { throw DatastoreError(.invalidStoreURL, "no etcd endpoints") }
        while !control.isCancelled {
            let endpoint = endpoints[index % endpoints.count]
            index += 1
            do {
                let create = Etcd.WatchCreate(
                    key: Etcd.base64(prefix.isEmpty ? "\0" : prefix),
                    range_end: Etcd.base64(Etcd.rangeEnd(forPrefix: prefix)),
                    start_revision: next.map(Etcd.Int64Value.init))
                let body = Array(try JSONEncoder().encode(Etcd.WatchRequest(create_request: create)))
                let token = try store.authorization(endpoint: (index - 1) % endpoints.count)
                var connection = try store.connect(to: endpoint)
                guard control.register(connection.socketDescriptor) else { return }
                let ended: Result<String, any Error>
                do {
                    ended = .success(try follow(
                        &connection, body: body, token: token, endpoint: endpoint, next: &next, failures: &failures, continuation: continuation))
                } catch {
                    ended = .failure(error)
                }
                // Unregister before the socket closes: a cancel() from now on cannot shut down
                // whatever socket reuses the descriptor number next.
                _ = control.register(nil)
                _ = consume connection
                lastError = try ended.get()
            } catch let failure as HTTPConnection.Failure {
                if failure.error.code == .tlsFailed { throw DatastoreError(failure.error) }
                lastError = failure.error.message
            } catch let error as DatastoreError where EtcdDatastore.isStaleToken(error) {
                store.forgetToken(endpoint: (index - 1) % endpoints.count)
                lastError = error.message
            }
            if control.isCancelled { return }
            failures += 1
            if failures > endpoints.count * 25 {
                throw DatastoreError(.unavailable, "watch lost every etcd endpoint: \(lastError)")
            }
            usleep(200_000)
        }
    }

    /// Sends the watch request on `connection` and yields its events until the stream ends;
    /// returns why it ended when another endpoint may carry on.
    private func follow(
        _ connection: inout HTTPConnection, body: [UInt8], token: String?, endpoint: HTTPEndpoint, next: inout Int64?, failures: inout Int,
        continuation: AsyncThrowingStream<WatchEvent, any Error>.Continuation
    ) throws -> String {
        try connection.sendPost(path: "/v3/watch", body: body, authorization: token)
        // The stream is idle between events: no deadline once the request is sent.
        connection.makeStream()
        let head = try connection.readHead()
        guard head.status == 200 else {
            let error = EtcdDatastore.serverError(status: head.status, body: try connection.readBody(head), endpoint: endpoint)
            if error.code != .unavailable { throw error }
            return error.message
        }
        var remaining = head.contentLength
        var splitter = JSONObjectSplitter()
        while let piece = try connection.nextBodyPiece(head, remaining: &remaining) {
            for object in splitter.append(piece) {
                let envelope = try JSONDecoder().decode(Etcd.StreamEnvelope<Etcd.WatchResponse>.self, from: Data(object))
                if let error = envelope.error {
                    throw EtcdDatastore.authenticationError(error.text, endpoint: endpoint)
                        ?? DatastoreError(.serverError, error.text, endpoint: endpoint.description)
                }
                guard let result = envelope.result else { continue }
                failures = 0
                if let compacted = result.compact_revision?.value, compacted > 0 {
                    throw DatastoreError(.compacted, "revision \(next ?? 0) compacted (oldest kept: \(compacted))")
                }
                if result.canceled == true {
                    throw DatastoreError(.serverError, "watch cancelled: \(result.cancel_reason ?? "no reason")")
                }
                if result.created == true, next == nil, let revision = result.header?.revision?.value {
                    next = revision + 1
                }
                for event in result.events ?? [] {
                    guard let kv = event.kv else { continue }
                    let keyValue = kv.keyValue
                    continuation.yield(WatchEvent(kind: event.type == "DELETE" ? .delete : .put, keyValue: keyValue))
                    next = keyValue.modRevision + 1
                }
            }
        }
        return "stream ended"
    }
}
