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

    struct PodDocument: Codable {
        var namespace: String
        var name: String
        var node: String
        var containerID: String
        var addresses: [String]
        var labels: [String: String]
        /// The pod server's named ports, as a pod spec's named container ports.
        var ports: [PortDocument]
    }

    struct PortDocument: Codable {
        var name: String
        var port: UInt16
        var `protocol`: String
    }

    func publish(_ pod: LabState.PodRecord) async throws {
        let document = PodDocument(
            namespace: pod.namespace, name: pod.name, node: (try? nodeRecord(pod.node).name) ?? "node-\(pod.node)",
            containerID: pod.containerID, addresses: pod.address.map { [$0] } ?? [], labels: pod.labels,
            ports: Self.podServerPorts.map { PortDocument(name: $0.name, port: $0.port, protocol: $0.protocol.description) })
        let key = Keys.pod(namespace: pod.namespace, name: pod.name)
        try await storePut(key, try await merged(document, intoRecordAt: key))
        try await storePut(Keys.podLabels(namespace: pod.namespace, name: pod.name), Self.json(pod.labels))
    }

    func unpublish(_ pod: LabState.PodRecord) async throws {
        try await storeDelete(Keys.pod(namespace: pod.namespace, name: pod.name))
        try await storeDelete(Keys.podLabels(namespace: pod.namespace, name: pod.name))
    }

    func publishNamespaceLabels(_ namespace: String) async throws {
        let labels = state.namespaceLabels[namespace] ?? [:]
        try await storePut(Keys.namespaceLabels(namespace), Self.json(labels))
    }

    /// The lab's pod document over the record a plugin wrote for the same container (swift-calico
    /// and swift-canal write one at ADD): the lab's fields win, the plugin's others (its host
    /// interface) are kept, so the one record says everything.
    func merged(_ document: PodDocument, intoRecordAt key: String) async throws -> String {
        let lab = try Self.json(document)
        guard let existing = try await storeList(prefix: key).first(where: { $0.0 == key })?.1,
            let written = try? JSONSerialization.jsonObject(with: Data(existing.utf8)) as? [String: Any],
            written["containerID"] as? String == document.containerID,
            var result = try JSONSerialization.jsonObject(with: Data(lab.utf8)) as? [String: Any]
        else { return lab }
        for (field, value) in written where result[field] == nil { result[field] = value }
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
