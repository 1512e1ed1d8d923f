import Datastore
import Foundation

/// Pods and labels published to the lab's Datastore (the keys of Documentation/Datastore.md),
/// where agents and the policy engine read them. `state.json` keeps a copy for listing.
extension Lab {
    enum Keys {
        static func pod(namespace: String, name: String) -> String { KeyLayout.pod(namespace: namespace, name: name) }
        static func podLabels(namespace: String, name: String) -> String {
            KeyLayout.labels(kind: "pod", namespace: namespace, name: name)
        }
        /// Namespaces are cluster-scoped: their "namespace" component is `_cluster`.
        static func namespaceLabels(_ namespace: String) -> String {
            KeyLayout.labels(kind: "namespace", namespace: "_cluster", name: namespace)
        }
    }

    func publish(_ pod: LabState.PodEntry) async throws {
        let record = PodRecord(
            namespace: pod.namespace, name: pod.name, node: (try? nodeRecord(pod.node).name) ?? "node-\(pod.node)",
            containerID: pod.containerID, addresses: pod.addresses ?? pod.address.map { [$0] } ?? [], labels: pod.labels,
            ports: Self.podServerPorts.map { PortRecord(name: $0.name, port: $0.port, protocol: $0.protocol.description) })
        try await storePut(record.key, try await merged(record))
        try await storePut(Keys.podLabels(namespace: pod.namespace, name: pod.name), Self.json(pod.labels))
    }

    func unpublish(_ pod: LabState.PodEntry) async throws {
        try await storeDelete(Keys.pod(namespace: pod.namespace, name: pod.name))
        try await storeDelete(Keys.podLabels(namespace: pod.namespace, name: pod.name))
    }

    func publishNamespaceLabels(_ namespace: String) async throws {
        let labels = state.namespaceLabels[namespace] ?? [:]
        try await storePut(Keys.namespaceLabels(namespace), Self.json(labels))
    }

    /// The lab's pod record over the record a plugin wrote for the same container (swift-calico
    /// and swift-canal write one at ADD): the lab's fields win, the plugin's others (its host
    /// interface, fields unknown here) are kept (`PodRecord.merged(over:)`, as
    /// `ClusterRegistry.merge` does), so the one record says everything. A stored record that
    /// does not decode is an error naming its key.
    func merged(_ record: PodRecord) async throws -> String {
        var result = record
        if let existing = try await storeList(prefix: record.key).first(where: { $0.0 == record.key })?.1 {
            let written = try PodRecord(decoding: Array(existing.utf8), key: record.key)
            if written.containerID == record.containerID { result = record.merged(over: written) }
        }
        return String(decoding: try result.encoded(), as: UTF8.self)
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
