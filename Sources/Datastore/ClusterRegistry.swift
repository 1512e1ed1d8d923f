/// The cluster model on a ``Datastore``: pod and node records at their keys
/// (``KeyLayout/pod(namespace:name:)``, ``KeyLayout/node(_:)``), put, merged, listed and watched
/// by node. Every component that reads or writes these records goes through it.
///
/// ```swift
/// let registry = ClusterRegistry(store: try StoreLocation.open("file:/var/lib/swiftcni/store"))
/// try await registry.merge(PodRecord(namespace: "x", name: "a", node: "node-1", containerID: id, addresses: ["10.244.1.2"]))
/// for record in try await registry.pods(onNode: "node-1") { … }
/// ```
///
/// A record that does not decode is never skipped silently: reads throw (or report, for
/// watches) a ``DatastoreError`` `.malformedRecord` that names its key.
public struct ClusterRegistry: Sendable {
    public let store: any Datastore

    public init(store: any Datastore) {
        self.store = store
    }

    /// The prefix of every pod record.
    public static let podPrefix = KeyLayout.pods

    // MARK: Pods

    /// The pod record of `namespace`/`name`, or nil.
    public func pod(namespace: String, name: String) async throws -> PodRecord? {
        let key = KeyLayout.pod(namespace: namespace, name: name)
        guard let item = try await store.get(key) else { return nil }
        return try PodRecord(decoding: item.value, key: key)
    }

    /// Writes `record` at its key, replacing what is there.
    @discardableResult
    public func put(_ record: PodRecord) async throws -> Int64 {
        try await store.put(record.key, value: try record.encoded())
    }

    /// The write of `record`, for a transaction that carries it (block IPAM writes the pod
    /// record in the allocation's transaction).
    public static func putOperation(_ record: PodRecord) throws(DatastoreError) -> DatastoreTransaction.Operation {
        .put(key: record.key, value: try record.encoded(), lease: nil)
    }

    /// Writes `record` over the stored record of the same container: `record`'s fields win,
    /// the stored record's others (another component's `hostInterface`, unknown fields) are
    /// kept. A record of another container (or none) is replaced. Atomic against concurrent
    /// writers (compare-and-swap, retried). Returns what was written.
    @discardableResult
    public func merge(_ record: PodRecord) async throws -> PodRecord {
        let key = record.key
        for _ in 0..<100 {
            let current = try await store.get(key)
            var result = record
            var condition = Condition.absent
            if let current {
                condition = .modRevision(current.modRevision)
                let existing = try PodRecord(decoding: current.value, key: key)
                if existing.containerID == record.containerID { result = record.merged(over: existing) }
            }
            if try await store.compareAndSwap(key, expecting: condition, value: try result.encoded()).succeeded {
                return result
            }
        }
        throw DatastoreError(.timedOut, "the pod record kept changing while merging", key: key)
    }

    /// Deletes the pod record of `namespace`/`name` when it still belongs to `containerID` (a
    /// newer sandbox of the same pod keeps its own); nil `containerID` deletes whatever is
    /// there. A record that does not decode is deleted too (it cannot belong to anyone else).
    /// Returns whether a record was deleted.
    @discardableResult
    public func deletePod(namespace: String, name: String, containerID: String?) async throws -> Bool {
        let key = KeyLayout.pod(namespace: namespace, name: name)
        guard let current = try await store.get(key) else { return false }
        if let containerID, let record = try? PodRecord(decoding: current.value, key: key),
            record.containerID != containerID
        {
            return false
        }
        let swap = try await store.compareAndSwap(key, expecting: .modRevision(current.modRevision), value: nil)
        return swap.succeeded
    }

    /// GC: deletes the records of `node`'s pods whose container is not in `validContainerIDs`;
    /// returns their keys.
    @discardableResult
    public func collectPods(onNode node: String, validContainerIDs: Set<String>) async throws -> [String] {
        var deleted: [String] = []
        for record in try await pods(onNode: node) where !validContainerIDs.contains(record.containerID ?? "") {
            if try await deletePod(namespace: record.namespace, name: record.name, containerID: record.containerID) {
                deleted.append(record.key)
            }
        }
        return deleted
    }

    /// Every pod record (of `node` when given), in key order.
    public func pods(onNode node: String? = nil) async throws -> [PodRecord] {
        try await podListing(onNode: node).records
    }

    /// The pod records (of `node` when given) and the revision they were read at.
    public func podListing(onNode node: String? = nil) async throws -> (records: [PodRecord], revision: Int64) {
        let listing = try await store.list(prefix: KeyLayout.pods)
        var records: [PodRecord] = []
        for item in listing.items {
            let record = try PodRecord(decoding: item.value, key: item.key)
            if node == nil || record.node == node { records.append(record) }
        }
        return (records, listing.revision)
    }

    /// A change of the pod records of one node.
    public enum PodEvent: Hashable, Sendable {
        /// A record of the node was written (or existed when the watch started).
        case put(PodRecord)
        /// The record at `key` left the node: deleted, or now names another node.
        case removed(key: String)
        /// A record does not decode (the error names its key); the watch goes on.
        case malformed(DatastoreError)
    }

    /// The pod records of `node`: first every current one (`.put`), then each change as it
    /// happens. The stream ends when the iterating task is cancelled, or fails with the
    /// store's error.
    public func watchPods(onNode node: String) -> AsyncThrowingStream<PodEvent, any Error> {
        let store = self.store
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let listing = try await store.list(prefix: KeyLayout.pods)
                    var known: Set<String> = []
                    func handle(_ key: String, _ value: [UInt8]?) {
                        guard let value else {
                            if known.remove(key) != nil { continuation.yield(.removed(key: key)) }
                            return
                        }
                        do {
                            let record = try PodRecord(decoding: value, key: key)
                            if record.node == node {
                                known.insert(key)
                                continuation.yield(.put(record))
                            } else if known.remove(key) != nil {
                                continuation.yield(.removed(key: key))
                            }
                        } catch {
                            if known.remove(key) != nil { continuation.yield(.removed(key: key)) }
                            continuation.yield(.malformed(error))
                        }
                    }
                    for item in listing.items { handle(item.key, item.value) }
                    for try await event in store.watch(prefix: KeyLayout.pods, fromRevision: listing.revision + 1) {
                        handle(event.keyValue.key, event.kind == .put ? event.keyValue.value : nil)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Nodes

    /// The node record of `name`, or nil.
    public func node(_ name: String) async throws -> NodeRecord? {
        let key = KeyLayout.node(name)
        guard let item = try await store.get(key) else { return nil }
        return try NodeRecord(decoding: item.value, key: key)
    }

    /// Writes `record` at its key (the node's registration).
    @discardableResult
    public func put(_ record: NodeRecord) async throws -> Int64 {
        try await store.put(record.key, value: try record.encoded())
    }

    /// Deletes the node record of `name`; returns whether it existed.
    @discardableResult
    public func deleteNode(_ name: String) async throws -> Bool {
        try await store.delete(KeyLayout.node(name))
    }

    /// Every node record, in key order; a record that does not decode fails the read.
    public func nodes() async throws -> [NodeRecord] {
        try await store.list(prefix: KeyLayout.nodes).items.map { item throws(DatastoreError) in
            try NodeRecord(decoding: item.value, key: item.key)
        }
    }

    /// Every node record that decodes, in key order; each one that does not is handed to
    /// `malformed` (an agent logs it and goes on with the others).
    public func nodes(reportingMalformed malformed: (DatastoreError) -> Void) async throws -> [NodeRecord] {
        var records: [NodeRecord] = []
        for item in try await store.list(prefix: KeyLayout.nodes).items {
            do { records.append(try NodeRecord(decoding: item.value, key: item.key)) } catch { malformed(error) }
        }
        return records
    }
}
