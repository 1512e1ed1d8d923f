import Kubernetes
import NIOHTTP1

/// Maps requests to discovery documents and to the registry, as kube-apiserver answers them.
struct Router: Sendable {
    let storage: ObjectStorage
    let cache: WatchCache
    let serverAddress: String
    /// nil: bookmarks as the real server sends them; a value: test-only periodic bookmarks.
    let bookmarkInterval: Duration?
    /// A stand-in kubelet confirms graceful pod deletes at once.
    let kubelet: Bool

    func route(_ request: ServerRequest) async -> ServerResponse {
        do {
            return try await dispatch(request)
        } catch let error as APIError {
            return .error(error)
        } catch {
            return .error(APIError(500, reason: "InternalError", message: "Internal error occurred: \(error)"))
        }
    }

    private func dispatch(_ request: ServerRequest) async throws -> ServerResponse {
        let path = request.path.count > 1 && request.path.hasSuffix("/") ? String(request.path.dropLast()) : request.path
        if ["/healthz", "/readyz", "/livez"].contains(path) { return .text(status: 200, body: "ok") }
        if request.method == .GET, let document = Discovery.document(path: path, serverAddress: serverAddress) {
            return .json(status: 200, body: document, headers: [])
        }
        guard let target = ResourcePath(path) else {
            throw APIError(404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        let resource = target.resource
        let status = target.subresource == "status"
        switch (request.method, target.name) {
        case (.GET, nil):
            let selection = try self.selection(target, request.query)
            if request.isWatch { return try await watch(selection, request.query) }
            let list = try await storage.list(
                selection, limit: request.query["limit"].flatMap { Int($0) }, continueToken: request.query["continue"],
                resourceVersion: request.query["resourceVersion"])
            return .json(status: 200, body: list, headers: [])
        case (.GET, let name?):
            return .json(status: 200, body: try await storage.get(resource, namespace: target.namespace, name: name), headers: [])
        case (.POST, nil):
            guard !resource.namespaced || target.namespace != nil else {
                throw APIError(405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")
            }
            let created = try await storage.create(resource, namespace: target.namespace, body: try Self.body(request, resource))
            return .json(status: 201, body: created, headers: [])
        case (.PUT, let name?):
            let updated = try await storage.update(
                resource, namespace: target.namespace, name: name, body: try Self.body(request, resource), status: status)
            return .json(status: 200, body: updated, headers: [])
        case (.PATCH, let name?):
            guard let type = ObjectStorage.Patch(rawValue: Self.contentType(request) ?? "") else { throw APIError.unsupportedPatch }
            let patch: JSONValue
            do { patch = try JSONValue.decode(request.body) } catch { throw APIError.badRequest("error decoding patch: \(error)") }
            let patched = try await storage.patch(resource, namespace: target.namespace, name: name, patch: patch, type: type, status: status)
            return .json(status: 200, body: patched, headers: [])
        case (.DELETE, nil):
            guard resource != .namespaces else {
                throw APIError(405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")
            }
            return .json(status: 200, body: try await storage.deleteCollection(try self.selection(target, request.query), kubelet: kubelet), headers: [])
        case (.DELETE, let name?) where target.subresource == nil:
            return .json(status: 200, body: try await delete(resource, namespace: target.namespace, name: name, query: request.query), headers: [])
        default:
            throw APIError(405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")
        }
    }

    /// Pods answer the (terminating or deleted) pod, namespaces the namespace, everything
    /// else a `Status` Success naming what went, as kube-apiserver's registries.
    private func delete(_ resource: ResourceType, namespace: String?, name: String, query: [String: String]) async throws -> JSONObject {
        if resource == .pods {
            var grace: Int64?
            if let text = query["gracePeriodSeconds"] {
                guard let value = Int64(text) else { throw APIError.badRequest("invalid gracePeriodSeconds \"\(text)\"") }
                grace = value
            }
            return try await storage.deletePod(namespace: namespace, name: name, gracePeriod: grace, kubelet: kubelet)
        }
        let deleted = try await storage.delete(resource, namespace: namespace, name: name)
        if resource == .namespaces { return deleted }
        let uid = deleted[object: "metadata"]["uid"]?.stringValue
        return [
            "kind": "Status", "apiVersion": "v1", "metadata": .object([:]), "status": "Success",
            "details": .object(APIError.details(resource, name, uid: uid)),
        ]
    }

    private func selection(_ target: ResourcePath, _ query: [String: String]) throws -> Selection {
        var selection = Selection(resource: target.resource, namespace: target.namespace)
        do {
            if let text = query["labelSelector"], !text.isEmpty { selection.labels = try LabelSelector(text) }
        } catch let error as KubernetesError {
            throw APIError.badRequest(error.message)
        }
        if let text = query["fieldSelector"], !text.isEmpty { selection.fields = try FieldSelector(text, resource: target.resource) }
        return selection
    }

    private func watch(_ selection: Selection, _ query: [String: String]) async throws -> ServerResponse {
        let version = query["resourceVersion"] ?? ""
        let allowBookmarks = query["allowWatchBookmarks"] == "true" || query["allowWatchBookmarks"] == "1"
        let timeout = query["timeoutSeconds"].flatMap { Int($0) }.map { Duration.seconds($0) } ?? .seconds(1800)
        var initial: [JSONObject] = []
        let after: Int64
        if version.isEmpty || version == "0" {
            let current = await cache.current(resource: selection.resource.plural)
            initial = current.objects.filter(selection.matches)
            after = current.revision
        } else {
            try await storage.waitForRevision(version)
            after = Int64(version) ?? 0
        }
        let subscription: (replay: [ObjectChange], live: AsyncStream<WatchSignal>, id: Int)
        do {
            subscription = try await cache.subscribe(after: after)
        } catch let error as APIError {
            // kube-apiserver accepts the watch and sends the error as its only event.
            let (live, continuation) = AsyncStream.makeStream(of: WatchSignal.self)
            continuation.finish()
            return .watch(WatchStreamer(
                cache: cache, selection: selection, initial: [], replay: [], live: live, subscription: -1, after: after,
                allowBookmarks: false, timeout: .zero, bookmarkInterval: bookmarkInterval, failure: error))
        }
        return .watch(WatchStreamer(
            cache: cache, selection: selection, initial: initial, replay: subscription.replay, live: subscription.live,
            subscription: subscription.id, after: after, allowBookmarks: allowBookmarks, timeout: timeout,
            bookmarkInterval: bookmarkInterval, failure: nil))
    }

    static func contentType(_ request: ServerRequest) -> String? {
        request.headers.first(name: "Content-Type")?.split(separator: ";").first.map { $0.trimmingSpaces() }
    }

    static func body(_ request: ServerRequest, _ resource: ResourceType) throws -> JSONObject {
        try RequestBody.decode(request.body, contentType: contentType(request) ?? "application/json", kind: resource.kind)
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
