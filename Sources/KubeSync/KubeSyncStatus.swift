import Foundation

/// What swift-kube-sync reflects: the API versions it reads, the resource version of each
/// resource whose state the store holds, and the last round's counts. The same JSON is the
/// store marker (`/swiftcni/sync/kubernetes/versions`) and the `--status-file`.
///
/// ```json
/// {"apiVersions":{"namespaces":"v1","networkpolicies":"networking.k8s.io/v1","nodes":"v1","pods":"v1"},
///  "resourceVersions":{"namespaces":"812","networkpolicies":"812","nodes":"812","pods":"812"},
///  "server":"http://192.168.77.1:6443","synced":true,"writer":"swift-kube-sync","appliedOperations":42,"rounds":17,"problems":[]}
/// ```
public struct KubeSyncStatus: Codable, Hashable, Sendable {
    public var writer = "swift-kube-sync"
    /// The API server mirrored.
    public var server: String
    /// Resource (plural) → the API version read (`pods` → `v1`).
    public var apiVersions: [String: String]
    /// Resource (plural) → the resource version every store change up to which is mirrored.
    public var resourceVersions: [String: String]
    /// Whether every informer has listed once (before that nothing is written).
    public var synced: Bool
    /// Store operations applied since the start.
    public var appliedOperations: Int
    /// Planning rounds since the start.
    public var rounds: Int
    /// What the last round left alone, and why.
    public var problems: [String]

    public init(
        server: String, apiVersions: [String: String] = ClusterView.apiVersions, resourceVersions: [String: String] = [:],
        synced: Bool = false, appliedOperations: Int = 0, rounds: Int = 0, problems: [String] = []
    ) {
        self.server = server
        self.apiVersions = apiVersions
        self.resourceVersions = resourceVersions
        self.synced = synced
        self.appliedOperations = appliedOperations
        self.rounds = rounds
        self.problems = problems
    }

    /// Whether the store reflects every change of `resource` up to `resourceVersion` (the API's
    /// resource versions are the store revisions of kube-apiserver's etcd: numbers).
    public func reflects(_ resource: String, atLeast resourceVersion: String) -> Bool {
        guard let seen = resourceVersions[resource].flatMap({ Int64($0) }), let wanted = Int64(resourceVersion) else { return false }
        return seen >= wanted
    }

    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map(Array.init) ?? []
    }

    /// Writes the status to `path` atomically (advisory: failures are ignored).
    public func write(toFile path: String) {
        try? Data(encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The status in `path`, if there is a readable one.
    public static func read(fromFile path: String) -> KubeSyncStatus? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(KubeSyncStatus.self, from: data)
    }
}
