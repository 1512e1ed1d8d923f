/// A revisioned key/value store for cluster state: the contract every backend implements.
///
/// Keys are strings (`/swiftcni/ipam/blocks/10.244.0.0-26`); values are bytes (usually JSON).
/// Every change bumps one store-wide revision; each key remembers the revision that created it
/// and the one that last modified it, which is what ``compareAndSwap(_:expecting:value:lease:)``
/// compares. Keys may be attached to a lease: when the lease expires or is revoked, its keys
/// are deleted (and watchers see the deletes).
///
/// All operations throw ``DatastoreError``.
public protocol Datastore: Sendable {
    /// The value of one key, or nil. (`etcdctl get KEY`)
    func get(_ key: String) async throws -> KeyValue?

    /// Every key starting with `prefix`, sorted by key, and the store revision they were read at.
    /// (`etcdctl get --prefix PREFIX`)
    func list(prefix: String) async throws -> Listing

    /// Writes a key unconditionally and returns the new store revision. (`etcdctl put`)
    @discardableResult
    func put(_ key: String, value: [UInt8], lease: LeaseID?) async throws -> Int64

    /// Deletes a key; returns whether it existed. (`etcdctl del`)
    @discardableResult
    func delete(_ key: String) async throws -> Bool

    /// Writes (or, with a nil `value`, deletes) `key` only when its current state matches
    /// `condition`: absent, or last modified at a given revision. Atomic across all processes
    /// and nodes sharing the store. (`etcdctl txn` with a `mod` or `create` compare)
    func compareAndSwap(
        _ key: String, expecting condition: Condition, value: [UInt8]?, lease: LeaseID?
    ) async throws -> SwapResult

    /// Applies every write of `transaction` when all its conditions hold, atomically and at
    /// one store revision; otherwise writes nothing and reports the conditioned keys' current
    /// state. A lease that does not exist fails the whole transaction. (`etcdctl txn`)
    func commit(_ transaction: DatastoreTransaction) async throws -> TransactionResult

    /// Grants a lease living `ttlSeconds` unless kept alive. (`etcdctl lease grant`)
    func grantLease(ttlSeconds: Int64) async throws -> Lease

    /// Renews a lease for its full TTL; returns the TTL. Throws `.leaseNotFound` when it expired.
    /// (`etcdctl lease keep-alive --once`)
    @discardableResult
    func keepAlive(_ lease: LeaseID) async throws -> Int64

    /// Revokes a lease and deletes its keys. (`etcdctl lease revoke`)
    func revokeLease(_ lease: LeaseID) async throws

    /// The changes to keys under `prefix` from `revision` on (inclusive), as they happen; a
    /// revision of nil starts after the current revision. The stream ends when the task
    /// iterating it is cancelled, or fails with ``DatastoreError``. (`etcdctl watch --prefix --rev`)
    func watch(prefix: String, fromRevision revision: Int64?) -> AsyncThrowingStream<WatchEvent, any Error>

    /// Releases resources (connections, watchers). Optional: deinit does it too.
    func close() async
}

extension Datastore {
    @discardableResult
    public func put(_ key: String, value: [UInt8]) async throws -> Int64 {
        try await put(key, value: value, lease: nil)
    }

    public func put(_ key: String, string: String, lease: LeaseID? = nil) async throws {
        try await put(key, value: Array(string.utf8), lease: lease)
    }

    public func compareAndSwap(
        _ key: String, expecting condition: Condition, value: [UInt8]?
    ) async throws -> SwapResult {
        try await compareAndSwap(key, expecting: condition, value: value, lease: nil)
    }

    /// Creates `key` only when it does not exist yet. Returns whether this call created it.
    public func create(_ key: String, value: [UInt8], lease: LeaseID? = nil) async throws -> Bool {
        try await compareAndSwap(key, expecting: .absent, value: value, lease: lease).succeeded
    }

    public func close() async {}
}

/// One stored key with its value and revisions.
public struct KeyValue: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]
    /// The store revision at which the key was (last) created.
    public var createRevision: Int64
    /// The store revision of the last write to the key.
    public var modRevision: Int64
    /// How many times the key was written since it was created (1 after creation).
    public var version: Int64
    /// The lease the key is attached to, if any.
    public var lease: LeaseID?

    public init(
        key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64,
        lease: LeaseID? = nil
    ) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }

    /// The value as UTF-8 text.
    public var string: String { String(decoding: value, as: UTF8.self) }
}

/// Keys read at one store revision.
public struct Listing: Hashable, Sendable {
    public var items: [KeyValue]
    public var revision: Int64

    public init(items: [KeyValue], revision: Int64) {
        self.items = items
        self.revision = revision
    }
}

/// What ``Datastore/compareAndSwap(_:expecting:value:lease:)`` requires of the key.
public enum Condition: Hashable, Sendable {
    /// The key must not exist (create-if-absent).
    case absent
    /// The key must exist and have been last modified at this revision.
    case modRevision(Int64)
}

/// The outcome of a compare-and-swap.
public struct SwapResult: Hashable, Sendable {
    /// Whether the condition held and the write happened.
    public var succeeded: Bool
    /// The store revision after the operation.
    public var revision: Int64
    /// When the condition failed: the key's current state (nil when absent).
    public var current: KeyValue?

    public init(succeeded: Bool, revision: Int64, current: KeyValue?) {
        self.succeeded = succeeded
        self.revision = revision
        self.current = current
    }
}

/// The identifier of a lease (etcd's 64-bit lease ID).
public struct LeaseID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}

/// A granted lease.
public struct Lease: Hashable, Sendable {
    public var id: LeaseID
    public var ttlSeconds: Int64
    public init(id: LeaseID, ttlSeconds: Int64) {
        self.id = id
        self.ttlSeconds = ttlSeconds
    }
}

/// One change seen by a watch.
public struct WatchEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case put
        case delete
    }

    public var kind: Kind
    /// For a put, the new state; for a delete, the key with an empty value and the
    /// revision of the delete as `modRevision`.
    public var keyValue: KeyValue

    public init(kind: Kind, keyValue: KeyValue) {
        self.kind = kind
        self.keyValue = keyValue
    }

    /// The store revision of the change.
    public var revision: Int64 { keyValue.modRevision }
}
