#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datastore
import Kubernetes

/// The fixture's registry: API objects in the Datastore with kube-apiserver's mapping.
/// resourceVersion is the key's modification revision (a list's is the store revision); a
/// create is a compare-and-swap on absence, an update and a patch a compare-and-swap on the
/// revision read (409 Conflict when the object moved on); deletes are immediate.
actor ObjectStorage {
    let store: any Datastore
    let layout: KeyLayout
    let cache: WatchCache
    /// Full listings kept for continue tokens, by (revision, collection key prefix).
    private var snapshots: [String: [KeyValue]] = [:]
    private var snapshotOrder: [String] = []

    init(store: any Datastore, layout: KeyLayout, cache: WatchCache) {
        self.store = store
        self.layout = layout
        self.cache = cache
    }

    // MARK: Reading

    func get(_ resource: ResourceType, namespace: String?, name: String) async throws -> JSONObject {
        guard let item = try await store.get(layout.key(resource, namespace: namespace, name: name)),
            let object = try? JSONValue.decodeObject(item.value)
        else { throw APIError.notFound(resource, name) }
        return WatchCache.versioned(object, item.modRevision)
    }

    func list(_ selection: Selection, limit: Int?, continueToken: String?, resourceVersion: String?) async throws -> JSONObject {
        let collection = layout.collection(selection.resource, namespace: selection.namespace)
        var start = ""
        var items: [KeyValue]
        var revision: Int64
        let pageLimit = resourceVersion == "0" ? nil : limit.flatMap { $0 > 0 ? $0 : nil }
        if let continueToken, !continueToken.isEmpty {
            guard let token = ContinueToken(continueToken) else { throw APIError.badRequest("continue key is not valid") }
            if token.revision == ContinueToken.latest {
                // The token a 410 handed out: the rest of the list at the current version.
                let listing = try await store.list(prefix: collection)
                items = listing.items
                revision = listing.revision
            } else {
                let compacted = await cache.storeCompactedRevision
                guard token.revision >= compacted, let snapshot = snapshots["\(token.revision)|\(collection)"] else {
                    throw APIError.expiredContinue(freshToken: ContinueToken(revision: ContinueToken.latest, start: token.start).encoded)
                }
                items = snapshot
                revision = token.revision
            }
            start = token.start
        } else {
            try await waitForRevision(resourceVersion)
            // With a limit, kube-apiserver reads etcd at that version: gone after a compaction.
            if pageLimit != nil, let text = resourceVersion, let wanted = Int64(text), wanted > 0,
                wanted < (await cache.storeCompactedRevision)
            {
                throw APIError.expiredList
            }
            let listing = try await store.list(prefix: collection)
            items = listing.items
            revision = listing.revision
        }
        var selected: [JSONObject] = []
        var lastKey = ""
        var more = false
        var remaining: Int64 = 0
        for item in items where item.key > start {
            guard let object = try? JSONValue.decodeObject(item.value) else { continue }
            var versioned = WatchCache.versioned(object, item.modRevision)
            guard selection.matches(versioned) else { continue }
            // List items carry no kind or apiVersion (the list's kind says it).
            versioned["kind"] = nil
            versioned["apiVersion"] = nil
            if let pageLimit, selected.count >= pageLimit {
                more = true
                remaining += 1
                continue
            }
            selected.append(versioned)
            lastKey = item.key
        }
        var metadata: JSONObject = ["resourceVersion": .string(String(revision))]
        if more {
            remember(items, key: "\(revision)|\(collection)")
            metadata["continue"] = .string(ContinueToken(revision: revision, start: lastKey).encoded)
            metadata["remainingItemCount"] = .integer(remaining)
        }
        return [
            "kind": .string(selection.resource.kind + "List"), "apiVersion": .string(selection.resource.apiVersion),
            "metadata": .object(metadata), "items": .array(selected.map { .object($0) }),
        ]
    }

    private func remember(_ items: [KeyValue], key: String) {
        if snapshots[key] == nil { snapshotOrder.append(key) }
        snapshots[key] = items
        while snapshotOrder.count > 32 { snapshots[snapshotOrder.removeFirst()] = nil }
    }

    /// A list or watch at a version newer than the store's waits up to 3 s for it, then
    /// fails as kube-apiserver does ("Too large resource version").
    func waitForRevision(_ resourceVersion: String?) async throws {
        guard let text = resourceVersion, !text.isEmpty, text != "0" else { return }
        guard let wanted = Int64(text), wanted >= 0 else {
            throw APIError.badRequest("invalid resourceVersion \"\(text)\": must be a non-negative integer")
        }
        let deadline = ContinuousClock.now + .seconds(3)
        while true {
            let current = try await store.list(prefix: layout.prefix + "\u{1}").revision
            if wanted <= current { return }
            if ContinuousClock.now >= deadline { throw APIError.tooLargeResourceVersion(wanted, current: current) }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: Writing

    func create(_ resource: ResourceType, namespace: String?, body: JSONObject) async throws -> JSONObject {
        var object = try ObjectRules.prepareCreate(resource, namespace: namespace, body: body)
        let name = object[object: "metadata"]["name"]?.stringValue ?? ""
        if resource.namespaced, let namespace {
            guard try await store.get(layout.key(.namespaces, namespace: nil, name: namespace)) != nil else {
                throw APIError.notFound(.namespaces, namespace)
            }
        }
        object[object: "metadata"]["resourceVersion"] = nil
        let key = layout.key(resource, namespace: namespace, name: name)
        let result = try await store.compareAndSwap(key, expecting: .absent, value: object.encodedJSON())
        guard result.succeeded else { throw APIError.alreadyExists(resource, name) }
        return WatchCache.versioned(object, result.revision)
    }

    /// PUT of an object or of its status.
    func update(_ resource: ResourceType, namespace: String?, name: String, body: JSONObject, status: Bool) async throws -> JSONObject {
        // kube-apiserver checks the body's name against the URL before reading the object.
        if let bodyName = body[object: "metadata"]["name"]?.stringValue, !bodyName.isEmpty, bodyName != name {
            throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let requested = body[object: "metadata"]["resourceVersion"]?.stringValue
        return try await modify(resource, namespace: namespace, name: name, precondition: requested, status: status) { _ in body }
    }

    /// The patch types kube-apiserver accepts (server-side apply aside).
    enum Patch: String, Sendable {
        case json = "application/json-patch+json"
        case merge = "application/merge-patch+json"
        case strategicMerge = "application/strategic-merge-patch+json"
    }

    /// PATCH of an object or of its status (JSON patch, merge or strategic merge).
    func patch(
        _ resource: ResourceType, namespace: String?, name: String, patch: JSONValue, type: Patch, status: Bool
    ) async throws -> JSONObject {
        let requested = type == .json ? nil : patch["metadata"]?["resourceVersion"]?.stringValue
        return try await modify(resource, namespace: namespace, name: name, precondition: requested, status: status) { current in
            let merged = switch type {
            case .json: try JSONPatch.apply(patch, to: .object(current))
            case .merge: JSONMergePatch.apply(patch, to: .object(current))
            case .strategicMerge: StrategicMergePatch.apply(patch, to: .object(current))
            }
            guard let object = merged.objectValue else { throw APIError.badRequest("the patch does not leave an object") }
            return object
        }
    }

    private func modify(
        _ resource: ResourceType, namespace: String?, name: String, precondition: String?, status: Bool,
        change: (JSONObject) throws -> JSONObject
    ) async throws -> JSONObject {
        let key = layout.key(resource, namespace: namespace, name: name)
        for _ in 0..<16 {
            guard let item = try await store.get(key), let stored = try? JSONValue.decodeObject(item.value) else {
                throw APIError.notFound(resource, name)
            }
            if let precondition, !precondition.isEmpty, precondition != String(item.modRevision) {
                throw APIError.conflict(resource, name)
            }
            let current = WatchCache.versioned(stored, item.modRevision)
            var next = try ObjectRules.prepareUpdate(
                resource, name: name, namespace: namespace, old: current, new: try change(current), statusOnly: status)
            next[object: "metadata"]["resourceVersion"] = nil
            if next == stored { return current }
            let result = try await store.compareAndSwap(key, expecting: .modRevision(item.modRevision), value: next.encodedJSON())
            if result.succeeded { return WatchCache.versioned(next, result.revision) }
            if precondition != nil { throw APIError.conflict(resource, name) }
        }
        throw APIError.conflict(resource, name)
    }

    /// DELETE of a pod, graceful as kube-apiserver's pod strategy: a scheduled, running pod
    /// gets `deletionTimestamp` and `deletionGracePeriodSeconds` (its
    /// `terminationGracePeriodSeconds`, or `gracePeriodSeconds` of the request) and stays
    /// until a kubelet confirms. `kubelet`: the fixture confirms at once (a node agent that
    /// stops containers instantly), so the watch sees MODIFIED then DELETED; without it the
    /// pod stays terminating until a delete with `gracePeriodSeconds=0`. An unscheduled or
    /// finished pod, or grace 0, is deleted at once. Answers the pod as the real server does.
    func deletePod(namespace: String?, name: String, gracePeriod: Int64?, kubelet: Bool) async throws -> JSONObject {
        let key = layout.key(.pods, namespace: namespace, name: name)
        for _ in 0..<16 {
            guard let item = try await store.get(key), let stored = try? JSONValue.decodeObject(item.value) else {
                throw APIError.notFound(.pods, name)
            }
            let spec = stored[object: "spec"]
            let phase = stored[object: "status"]["phase"]?.stringValue
            var grace = max(0, gracePeriod ?? spec["terminationGracePeriodSeconds"]?.integerValue ?? 30)
            if (spec["nodeName"]?.stringValue ?? "").isEmpty || phase == "Succeeded" || phase == "Failed" { grace = 0 }
            var metadata = stored[object: "metadata"]
            let pending = metadata["deletionGracePeriodSeconds"]?.integerValue
            if let pending, grace >= pending { return WatchCache.versioned(stored, item.modRevision) }
            metadata["deletionTimestamp"] = .string(Date.now.addingTimeInterval(Double(grace)).formatted(.iso8601))
            metadata["deletionGracePeriodSeconds"] = .integer(grace)
            var marked = stored
            marked["metadata"] = .object(metadata)
            var revision = item.modRevision
            if grace > 0 || pending != nil {
                let written = try await store.compareAndSwap(key, expecting: .modRevision(revision), value: marked.encodedJSON())
                guard written.succeeded else { continue }
                revision = written.revision
                await cache.waitUntilApplied(revision)
                if grace > 0 && !kubelet { return WatchCache.versioned(marked, revision) }
            }
            let removed = try await store.compareAndSwap(key, expecting: .modRevision(revision), value: nil)
            guard removed.succeeded else { continue }
            return WatchCache.versioned(marked, removed.revision)
        }
        throw APIError.conflict(.pods, name)
    }

    /// DELETE of every object a selection matches (`deletecollection`): answers the list of
    /// what it deleted.
    func deleteCollection(_ selection: Selection, kubelet: Bool) async throws -> JSONObject {
        let listing = try await store.list(prefix: layout.collection(selection.resource, namespace: selection.namespace))
        var deleted: [JSONValue] = []
        for item in listing.items {
            guard let object = try? JSONValue.decodeObject(item.value), selection.matches(object) else { continue }
            let name = object[object: "metadata"]["name"]?.stringValue ?? ""
            let namespace = object[object: "metadata"]["namespace"]?.stringValue
            do {
                var gone = selection.resource == .pods
                    ? try await deletePod(namespace: namespace, name: name, gracePeriod: nil, kubelet: kubelet)
                    : try await delete(selection.resource, namespace: namespace, name: name)
                gone["kind"] = nil
                gone["apiVersion"] = nil
                deleted.append(.object(gone))
            } catch let error as APIError where error.code == 404 {}
        }
        return [
            "kind": .string(selection.resource.kind + "List"), "apiVersion": .string(selection.resource.apiVersion),
            "metadata": ["resourceVersion": .string(String(await cache.revision))], "items": .array(deleted),
        ]
    }

    func delete(_ resource: ResourceType, namespace: String?, name: String) async throws -> JSONObject {
        let key = layout.key(resource, namespace: namespace, name: name)
        for _ in 0..<16 {
            guard let item = try await store.get(key), let object = try? JSONValue.decodeObject(item.value) else {
                throw APIError.notFound(resource, name)
            }
            let result = try await store.compareAndSwap(key, expecting: .modRevision(item.modRevision), value: nil)
            guard result.succeeded else { continue }
            if resource == .namespaces {
                for contained in ResourceCatalog.all where contained.namespaced {
                    for item in try await store.list(prefix: layout.collection(contained, namespace: name)).items {
                        _ = try await store.compareAndSwap(item.key, expecting: .modRevision(item.modRevision), value: nil)
                    }
                }
            }
            return WatchCache.versioned(object, result.revision)
        }
        throw APIError.conflict(resource, name)
    }
}

/// A continue token: the revision of the first page and the last key returned (base64 JSON,
/// as kube-apiserver's).
struct ContinueToken {
    /// The revision of a token that continues at the current version (after a 410).
    static let latest: Int64 = -1

    var revision: Int64
    var start: String

    init(revision: Int64, start: String) {
        self.revision = revision
        self.start = start
    }

    init?(_ text: String) {
        guard let data = Data(base64Encoded: text), let object = try? JSONValue.decodeObject(Array(data)),
            let revision = object["rv"]?.integerValue, let start = object["start"]?.stringValue
        else { return nil }
        self.revision = revision
        self.start = start
    }

    var encoded: String {
        let object: JSONObject = ["v": "meta.k8s.io/v1", "rv": .integer(revision), "start": .string(start)]
        return Data(object.encodedJSON()).base64EncodedString()
    }
}
