import Datastore

/// One store change the planner asks for, conditioned on what the planner saw at the key
/// (its `modRevision`, or its absence): a key that changed since is not touched, and the next
/// round plans again from what is there.
public struct SyncOperation: Hashable, Sendable, CustomStringConvertible {
    public enum Action: Hashable, Sendable {
        case put([UInt8])
        case delete
    }

    public var key: String
    public var action: Action
    /// The key's state the operation expects (the Datastore's `Condition`).
    public var expecting: Condition

    public init(key: String, action: Action, expecting: Condition) {
        self.key = key
        self.action = action
        self.expecting = expecting
    }

    public static func put(_ key: String, _ value: [UInt8], expecting: Condition) -> SyncOperation {
        SyncOperation(key: key, action: .put(value), expecting: expecting)
    }

    public static func delete(_ key: String, expecting: Condition) -> SyncOperation {
        SyncOperation(key: key, action: .delete, expecting: expecting)
    }

    public var description: String {
        switch action {
        case .put(let value): "put \(key) \(String(decoding: value, as: UTF8.self))"
        case .delete: "delete \(key)"
        }
    }
}

/// What one planning round decided: the operations in the order to apply them, and the keys
/// left alone with the reason (a foreign writer holds them, or their value does not decode).
public struct SyncPlan: Sendable {
    public var operations: [SyncOperation] = []
    public var problems: [KubeSyncError] = []

    public init(operations: [SyncOperation] = [], problems: [KubeSyncError] = []) {
        self.operations = operations
        self.problems = problems
    }
}

/// The store keys the planner reads: every value under these prefixes, by key.
public enum SyncStoreView {
    /// The prefixes to list before planning.
    public static let prefixes = [
        KeyLayout.pods, KeyLayout.nodes, KeyLayout.policies + "k8s/", KeyLayout.namespaceLabels, KeyLayout.kubernetesSync,
    ]

    /// Whether a change of `key` can change the plan (a store watch reacts to these only).
    public static func isRelevant(_ key: String) -> Bool {
        key != KeyLayout.kubernetesSyncMarker && prefixes.contains { key.hasPrefix($0) }
    }
}
