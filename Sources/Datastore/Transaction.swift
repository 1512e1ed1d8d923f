/// Several writes applied atomically when every condition holds: all of them or none, seen by
/// readers and watchers as one change at one store revision. (`etcdctl txn` with one compare
/// per condition and the writes as the success branch.)
///
/// ```swift
/// var transaction = DatastoreTransaction()
/// transaction.require("/swiftcni/ipam/blocks/10.244.0.0-26", .modRevision(block.modRevision))
/// transaction.put("/swiftcni/ipam/blocks/10.244.0.0-26", value: updatedBlock)
/// transaction.put("/swiftcni/ipam/handles/net.c1", value: handleRecord)
/// let result = try await store.commit(transaction)   // result.succeeded == false: re-read, retry
/// ```
public struct DatastoreTransaction: Hashable, Sendable {
    /// One write of a transaction.
    public enum Operation: Hashable, Sendable {
        /// Writes `key` (attached to `lease` when given).
        case put(key: String, value: [UInt8], lease: LeaseID?)
        /// Deletes `key`; an absent key is no error.
        case delete(key: String)

        /// The key the operation writes.
        public var key: String {
            switch self {
            case .put(let key, _, _), .delete(let key): key
            }
        }
    }

    /// A condition on one key.
    public struct Requirement: Hashable, Sendable {
        public var key: String
        public var condition: Condition
        public init(key: String, condition: Condition) {
            self.key = key
            self.condition = condition
        }
    }

    /// What each key must look like for the writes to happen (at most one condition per key).
    public var conditions: [Requirement]
    /// The writes, in order; a key written twice keeps the last value.
    public var operations: [Operation]

    public init(operations: [Operation] = []) {
        self.conditions = []
        self.operations = operations
    }

    /// Adds a condition on `key`.
    public mutating func require(_ key: String, _ condition: Condition) {
        conditions.append(Requirement(key: key, condition: condition))
    }

    /// Adds a write of `key`.
    public mutating func put(_ key: String, value: [UInt8], lease: LeaseID? = nil) {
        operations.append(.put(key: key, value: value, lease: lease))
    }

    /// Adds a delete of `key`.
    public mutating func delete(_ key: String) {
        operations.append(.delete(key: key))
    }

    /// The operations with only the last write of each key, in the order of those last writes
    /// (etcd refuses a transaction that writes one key twice).
    var effectiveOperations: [Operation] {
        var last: [String: Int] = [:]
        for (index, operation) in operations.enumerated() { last[operation.key] = index }
        return operations.enumerated().filter { last[$0.element.key] == $0.offset }.map(\.element)
    }

    /// Throws `.invalidKey` for an empty key, a key with a line break, or two conditions on
    /// one key.
    func validate() throws {
        for key in conditions.map(\.key) + operations.map(\.key) {
            if key.isEmpty { throw DatastoreError(.invalidKey, "empty key") }
            if key.contains(where: \.isNewline) { throw DatastoreError(.invalidKey, "key contains a line break") }
        }
        if Set(conditions.map(\.key)).count != conditions.count {
            throw DatastoreError(.invalidKey, "two conditions on one key")
        }
    }
}

/// The outcome of ``Datastore/commit(_:)``.
public struct TransactionResult: Hashable, Sendable {
    /// Whether every condition held and the writes happened.
    public var succeeded: Bool
    /// The store revision after the transaction (the revision of its writes when it succeeded).
    public var revision: Int64
    /// When a condition failed: the current state of every key with a condition (absent keys
    /// are missing from the dictionary).
    public var current: [String: KeyValue]

    public init(succeeded: Bool, revision: Int64, current: [String: KeyValue] = [:]) {
        self.succeeded = succeeded
        self.revision = revision
        self.current = current
    }
}
