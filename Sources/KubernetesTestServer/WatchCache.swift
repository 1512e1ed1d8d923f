import Datastore
import Kubernetes

/// One change of an API object, as the fixture's watch cache keeps it.
struct ObjectChange: Sendable {
    enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    var revision: Int64
    var resource: String
    var kind: Kind
    /// The new state (for a delete, the last state with the delete's resource version).
    var object: JSONObject
    /// The state before, for modifications and deletes.
    var previous: JSONObject?
}

/// What a watch subscriber receives.
enum WatchSignal: Sendable {
    case change(ObjectChange)
    /// Everything up to this revision has been sent: time for a bookmark.
    case progress(Int64)
}

/// The fixture's counterpart of kube-apiserver's watch cache: one Datastore watch over the
/// fixture's prefix, the current objects (so that deletes carry the deleted object), a window
/// of recent changes that watches replay from a resource version, and the compaction floor
/// under which a watch gets 410 Expired.
actor WatchCache {
    let store: any Datastore
    let layout: KeyLayout
    let historyLimit: Int
    /// The last store revision whose changes under the prefix have been applied.
    private(set) var revision: Int64 = 0
    /// Changes with a revision at or below this are gone from the watch window.
    private(set) var compactedRevision: Int64 = 0
    /// The backing store's compaction (an `etcdctl compact`): lists at older versions with a
    /// limit and continue tokens of older lists get 410; the watch window is not affected.
    private(set) var storeCompactedRevision: Int64 = 0
    private var objects: [String: JSONObject] = [:]
    private var history: [ObjectChange] = []
    private var subscribers: [Int: AsyncStream<WatchSignal>.Continuation] = [:]
    private var nextSubscriber = 0
    private var feed: Task<Void, Never>?

    init(store: any Datastore, layout: KeyLayout, historyLimit: Int = 10_000) {
        self.store = store
        self.layout = layout
        self.historyLimit = historyLimit
    }

    /// Reads the current objects and starts following the store.
    func start() async throws {
        let listing = try await store.list(prefix: layout.prefix)
        objects = [:]
        for item in listing.items {
            if let object = try? JSONValue.decodeObject(item.value) { objects[item.key] = Self.versioned(object, item.modRevision) }
        }
        revision = listing.revision
        compactedRevision = listing.revision
        history = []
        let from = listing.revision + 1
        feed = Task { [weak self] in await self?.follow(from: from) }
    }

    func stop() {
        feed?.cancel()
        feed = nil
        for continuation in subscribers.values { continuation.finish() }
        subscribers = [:]
    }

    private func follow(from: Int64) async {
        do {
            for try await event in store.watch(prefix: layout.prefix, fromRevision: from) { apply(event) }
        } catch {
            // The store's own log was compacted under us (or it failed): start over from a
            // fresh list; every watch ends and its client relists or rewatches.
            if Task.isCancelled { return }
            for continuation in subscribers.values { continuation.finish() }
            subscribers = [:]
            try? await Task.sleep(for: .milliseconds(50))
            try? await start()
        }
    }

    private func apply(_ event: StoreWatchEvent) {
        let key = event.keyValue.key
        guard let resource = layout.resource(ofKey: key) else { return }
        let change: ObjectChange
        switch event.kind {
        case .put:
            guard let object = try? JSONValue.decodeObject(event.keyValue.value) else { return }
            let versioned = Self.versioned(object, event.revision)
            let previous = objects.updateValue(versioned, forKey: key)
            change = ObjectChange(
                revision: event.revision, resource: resource, kind: previous == nil ? .added : .modified, object: versioned,
                previous: previous)
        case .delete:
            guard let previous = objects.removeValue(forKey: key) else { revision = max(revision, event.revision); return }
            change = ObjectChange(
                revision: event.revision, resource: resource, kind: .deleted, object: Self.versioned(previous, event.revision),
                previous: previous)
        }
        revision = max(revision, event.revision)
        history.append(change)
        if history.count > historyLimit {
            let dropped = history.count - historyLimit
            compactedRevision = history[dropped - 1].revision
            history.removeFirst(dropped)
        }
        for continuation in subscribers.values { continuation.yield(.change(change)) }
    }

    static func versioned(_ object: JSONObject, _ revision: Int64) -> JSONObject {
        var object = object
        var metadata = object[object: "metadata"]
        metadata["resourceVersion"] = .string(String(revision))
        object["metadata"] = .object(metadata)
        return object
    }

    /// Forgets every change up to the current revision: watches from an older version get
    /// 410 Expired from now on.
    func compact() {
        compactedRevision = revision
        storeCompactedRevision = revision
        history = []
    }

    /// Compacts only the backing store's history, as `etcdctl compact` does under
    /// kube-apiserver: the watch cache keeps serving watches from its window.
    func compactStore() async {
        let current = (try? await store.list(prefix: layout.prefix + "\u{1}").revision) ?? revision
        storeCompactedRevision = max(revision, current)
    }

    /// Waits (up to 2 s) until the cache has applied `target`: with a store whose watch skips
    /// superseded writes between polls (FileDatastore), a two-step write (a pod marked
    /// terminating, then deleted) still shows both steps to watches, as over etcd.
    func waitUntilApplied(_ target: Int64) async {
        let deadline = ContinuousClock.now + .seconds(2)
        while revision < target, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Ends every watch now (their connections close without a final chunk).
    func dropAll() {
        for continuation in subscribers.values { continuation.finish() }
        subscribers = [:]
    }

    /// Asks every watch to send a bookmark now.
    func announceProgress() {
        for continuation in subscribers.values { continuation.yield(.progress(revision)) }
    }

    /// The current objects of a resource (for watches from "0", which start with them).
    func current(resource: String) -> (objects: [JSONObject], revision: Int64) {
        let items = objects.filter { layout.resource(ofKey: $0.key) == resource }.sorted { $0.key < $1.key }.map(\.value)
        return (items, revision)
    }

    /// Subscribes from `from` (exclusive): returns the recorded changes after it and the
    /// stream of later ones. Throws 410 when `from` is compacted.
    func subscribe(after from: Int64) throws -> (replay: [ObjectChange], live: AsyncStream<WatchSignal>, id: Int) {
        if from < compactedRevision {
            throw APIError.expiredWatch
        }
        let (stream, continuation) = AsyncStream.makeStream(of: WatchSignal.self)
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        return (history.filter { $0.revision > from }, stream, id)
    }

    func unsubscribe(_ id: Int) {
        subscribers.removeValue(forKey: id)?.finish()
    }

    var watchCount: Int { subscribers.count }
}

/// Where API objects live in the Datastore: `PREFIX<plural>/<namespace>/<name>` or
/// `PREFIX<plural>/<name>` (kube-apiserver's `/registry/pods/NS/NAME`).
struct KeyLayout: Sendable {
    let prefix: String

    func key(_ resource: ResourceType, namespace: String?, name: String) -> String {
        if resource.namespaced, let namespace { return "\(prefix)\(resource.plural)/\(namespace)/\(name)" }
        return "\(prefix)\(resource.plural)/\(name)"
    }

    func collection(_ resource: ResourceType, namespace: String?) -> String {
        if resource.namespaced, let namespace { return "\(prefix)\(resource.plural)/\(namespace)/" }
        return "\(prefix)\(resource.plural)/"
    }

    func resource(ofKey key: String) -> String? {
        guard key.hasPrefix(prefix) else { return nil }
        return key.dropFirst(prefix.count).split(separator: "/").first.map(String.init)
    }
}
