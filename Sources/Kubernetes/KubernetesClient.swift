import NIOCore
import NIOHTTP1
import NIOPosix

/// A typed client of the Kubernetes API: get, list, watch, create, update, status update,
/// patch and delete of ``Node``, ``Pod``, ``Namespace``, ``NetworkPolicy`` (or any
/// ``KubernetesObject``).
///
/// ```swift
/// let client = try KubernetesClient(configuration: Kubeconfig(contentsOf: path).configuration())
/// let nodes = try await client.list(Node.self)
/// for try await event in try await client.watch(Pod.self, options: WatchOptions(resourceVersion: nodes.resourceVersion)) { … }
/// ```
///
/// Every failure is a ``KubernetesError``; the server's answers keep its `Status` message.
public final class KubernetesClient: Sendable {
    public let configuration: ClientConfiguration
    let transport: HTTPTransport

    public init(configuration: ClientConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.configuration = configuration
        transport = try HTTPTransport(configuration: configuration, group: eventLoopGroup)
    }

    /// `https://host:port`.
    public var server: String { configuration.server }

    // MARK: Reading

    /// One object. Throws ``KubernetesError/Code/notFound`` when it does not exist.
    public func get<Object: KubernetesObject>(_ type: Object.Type, name: String, namespace: String? = nil) async throws -> Object {
        let path = try Self.objectPath(Object.resourceType, namespace: namespace, name: name)
        return Object(json: try await send(.GET, path))
    }

    /// One page of objects (all of them when `options.limit` is nil). A nil namespace lists
    /// across all namespaces.
    public func list<Object: KubernetesObject>(
        _ type: Object.Type, namespace: String? = nil, options: ListOptions = ListOptions()
    ) async throws -> ObjectList<Object> {
        let path = Object.resourceType.path(namespace: namespace)
        return try ObjectList(json: try await send(.GET, path, query: options.queryItems))
    }

    /// Every object, reading page after page of `pageSize`; the result carries the version of
    /// the first page (all pages are read at it).
    public func listAll<Object: KubernetesObject>(
        _ type: Object.Type, namespace: String? = nil, options: ListOptions = ListOptions(), pageSize: Int = 500
    ) async throws -> ObjectList<Object> {
        var options = options
        options.limit = pageSize
        var page = try await list(type, namespace: namespace, options: options)
        var all = page
        while let token = page.continueToken {
            options.continueToken = token
            options.resourceVersion = nil
            page = try await list(type, namespace: namespace, options: options)
            all.items += page.items
        }
        all.continueToken = nil
        return all
    }

    /// The changes to objects of `type` as an async sequence of events. Returns once the
    /// server accepted the watch (an error answer, such as 410 for a compacted version or 429,
    /// is thrown here); the sequence ends when the server ends the watch (its timeout) or the
    /// connection closes, and throws the error of an ERROR event (410 → ``KubernetesError/Code/expired``). Cancelling
    /// the task that iterates it closes the connection.
    public func watch<Object: KubernetesObject>(
        _ type: Object.Type, namespace: String? = nil, options: WatchOptions = WatchOptions()
    ) async throws -> AsyncThrowingStream<WatchEvent<Object>, any Error> {
        let target = Object.resourceType.path(namespace: namespace) + "?" + QueryEncoding.encode(options.queryItems)
        let request = HTTPRequest(method: .GET, target: target)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent<Object>.self)
        let accepted = AcceptanceSignal()
        let transport = self.transport
        let server = self.server
        let task = Task {
            var errorHead: HTTPResponseHead?
            var errorBody: [UInt8] = []
            var lines = LineSplitter()
            do {
                try await transport.exchange(request) { part in
                    switch part {
                    case .head(let head):
                        if head.status == .ok { accepted.accept() } else { errorHead = head }
                    case .body(var buffer):
                        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                        if errorHead != nil { errorBody += bytes; return true }
                        for line in lines.append(bytes) {
                            continuation.yield(try WatchEvent(json: try JSONValue.decodeObject(line), server: server))
                        }
                    case .end:
                        return false
                    }
                    return true
                }
                if let errorHead {
                    throw KubernetesError.fromResponse(
                        httpStatus: Int(errorHead.status.code), body: errorBody,
                        retryAfter: errorHead.headers.first(name: "Retry-After").flatMap { Int($0) }, server: server)
                }
                if let rest = lines.remainder() {
                    continuation.yield(try WatchEvent(json: try JSONValue.decodeObject(rest), server: server))
                }
                guard accepted.isAccepted else { throw KubernetesError(.transportFailed, "watch closed before an answer", server: server) }
                continuation.finish()
            } catch {
                guard !accepted.fail(error) else { return }
                // As client-go: a connection that closes mid-stream (the server went away, the
                // watch was dropped) ends the watch like a normal end; the watcher resumes
                // from its last version. ERROR events and malformed events are errors.
                if let error = error as? KubernetesError, error.code == .transportFailed {
                    continuation.finish()
                } else {
                    continuation.finish(throwing: error)
                }
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        do {
            try await accepted.wait()
        } catch {
            task.cancel()
            throw error
        }
        return stream
    }

    // MARK: Writing

    /// Creates `object` in its namespace (or the cluster). Throws
    /// ``KubernetesError/Code/alreadyExists``.
    public func create<Object: KubernetesObject>(_ object: Object) async throws -> Object {
        let path = try Self.collectionPath(Object.resourceType, namespace: object.namespace)
        return Object(json: try await send(.POST, path, body: object.encoded()))
    }

    /// Replaces `object`. With `metadata.resourceVersion` set, the write happens only if the
    /// object is still at that version (``KubernetesError/Code/conflict`` otherwise).
    public func update<Object: KubernetesObject>(_ object: Object) async throws -> Object {
        let path = try Self.objectPath(Object.resourceType, namespace: object.namespace, name: object.name)
        return Object(json: try await send(.PUT, path, body: object.encoded()))
    }

    /// Replaces the `status` of `object` (the `/status` subresource), under the same
    /// resource-version rule as ``update(_:)``.
    public func updateStatus<Object: KubernetesObject>(_ object: Object) async throws -> Object {
        let path = try Self.objectPath(Object.resourceType, namespace: object.namespace, name: object.name) + "/status"
        return Object(json: try await send(.PUT, path, body: object.encoded()))
    }

    /// Patches one object (or its `status` with `subresource: "status"`).
    public func patch<Object: KubernetesObject>(
        _ type: Object.Type, name: String, namespace: String? = nil, patch: JSONValue, type patchType: PatchType = .merge,
        subresource: String? = nil
    ) async throws -> Object {
        var path = try Self.objectPath(Object.resourceType, namespace: namespace, name: name)
        if let subresource { path += "/\(subresource)" }
        return Object(json: try await send(.PATCH, path, body: patch.encoded(), contentType: patchType.rawValue))
    }

    /// Deletes one object. Throws ``KubernetesError/Code/notFound`` when it does not exist.
    public func delete<Object: KubernetesObject>(_ type: Object.Type, name: String, namespace: String? = nil) async throws {
        let path = try Self.objectPath(Object.resourceType, namespace: namespace, name: name)
        _ = try await send(.DELETE, path)
    }

    // MARK: Requests

    /// Sends a request and decodes the JSON object answered; HTTP errors become
    /// ``KubernetesError``. A 401 with a file token reads the file again and retries once.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil, contentType: String? = nil
    ) async throws -> JSONObject {
        let target = query.isEmpty ? path : path + "?" + QueryEncoding.encode(query)
        let request = HTTPRequest(method: method, target: target, contentType: contentType, body: body)
        var response = try await transport.execute(request)
        if response.status == 401, let token = configuration.token, token.path != nil {
            _ = try token.current(forceReread: true)
            response = try await transport.execute(request)
        }
        guard (200..<300).contains(response.status) else {
            throw KubernetesError.fromResponse(
                httpStatus: response.status, body: response.body,
                retryAfter: response.headers.first(name: "Retry-After").flatMap { Int($0) }, server: server)
        }
        do {
            return try JSONValue.decodeObject(response.body)
        } catch {
            throw KubernetesError(.protocolError, "\(method) \(path): the answer is not a JSON object", server: server)
        }
    }

    static func collectionPath(_ resource: ResourceType, namespace: String?) throws -> String {
        if resource.namespaced && (namespace ?? "").isEmpty {
            throw KubernetesError(.badRequest, "\(resource.kind) is namespaced: a namespace is required")
        }
        return resource.path(namespace: namespace)
    }

    static func objectPath(_ resource: ResourceType, namespace: String?, name: String) throws -> String {
        guard !name.isEmpty else { throw KubernetesError(.badRequest, "a \(resource.kind) needs a name") }
        return try collectionPath(resource, namespace: namespace) + "/\(name)"
    }
}

/// Splits a byte stream into newline-terminated lines (a watch sends one JSON event a line).
struct LineSplitter {
    private var pending: [UInt8] = []

    mutating func append(_ bytes: [UInt8]) -> [[UInt8]] {
        pending += bytes
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[start..<newline])
            if line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) { lines.append(line) }
            start = newline + 1
        }
        pending.removeFirst(start)
        return lines
    }

    mutating func remainder() -> [UInt8]? {
        defer { pending = [] }
        return pending.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) ? pending : nil
    }
}

/// Resolved once: when a watch's answer head says 200, or with the error that came first.
final class AcceptanceSignal: Sendable {
    private enum State: Sendable {
        case waiting(CheckedContinuation<Void, any Error>?)
        case accepted
        case failed(any Error)
    }

    private let state = LockedValue<State>(.waiting(nil))

    var isAccepted: Bool { state.withLock { if case .accepted = $0 { true } else { false } } }

    func accept() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard case .waiting(let continuation) = state else { return nil }
            state = .accepted
            return continuation
        }
        continuation?.resume()
    }

    /// Fails a waiting watcher; returns false when the watch had already been accepted.
    func fail(_ error: any Error) -> Bool {
        let (handled, continuation) = state.withLock { state -> (Bool, CheckedContinuation<Void, any Error>?) in
            guard case .waiting(let continuation) = state else { return (false, nil) }
            state = .failed(error)
            return (true, continuation)
        }
        continuation?.resume(throwing: error)
        return handled
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLock { state in
                switch state {
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                case .accepted: return .success(())
                case .failed(let error): return .failure(error)
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }
}
