import CNISpec
import Datastore

/// The pod record (`/swiftcni/pods/<namespace>/<name>`, Documentation/Datastore.md) the policy
/// agent reads: identity, node, addresses and the host interface.
struct PodRecordWriter: Sendable {
    struct Record: Codable, Sendable {
        var namespace: String
        var name: String
        var containerID: String
        var node: String
        var addresses: [String]
        var hostInterface: String
        var labels: [String: String]
    }

    let store: any Datastore
    let node: String

    init?(options: CanalOptions) throws(CNIError) {
        guard let location = options.datastore, let node = options.nodeName else { return nil }
        do { store = try StoreLocation.open(location) } catch {
            throw CNIError(.invalidNetworkConfig, "invalid \"datastore\" \(location)", details: "\(error)")
        }
        self.node = node
    }

    /// `K8S_POD_NAMESPACE`/`K8S_POD_NAME`, else `_` and the container ID.
    static func identity(_ request: PluginRequest) -> (namespace: String, name: String) {
        let namespace = request.arguments["K8S_POD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? "_"
        let name = request.arguments["K8S_POD_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? request.containerID
        return (namespace, name)
    }

    func register(_ request: PluginRequest, addresses: [String], hostInterface: String) async throws(CNIError) {
        let (namespace, name) = Self.identity(request)
        let record = Record(
            namespace: namespace, name: name, containerID: request.containerID, node: node, addresses: addresses,
            hostInterface: hostInterface, labels: [:])
        do {
            try await store.put(KeyLayout.pod(namespace: namespace, name: name), value: try CNIJSON.encode(record))
        } catch {
            throw CNIError(.tryAgainLater, "failed to write the pod record of \(namespace)/\(name)", details: "\(error)")
        }
    }

    /// Deletes the record when it still belongs to this container.
    func unregister(_ request: PluginRequest) async throws(CNIError) {
        let (namespace, name) = Self.identity(request)
        let key = KeyLayout.pod(namespace: namespace, name: name)
        do {
            guard let current = try await store.get(key) else { return }
            if let record = try? CNIJSON.decode(Record.self, from: current.value), record.containerID != request.containerID { return }
            _ = try await store.delete(key)
        } catch {
            throw CNIError(.tryAgainLater, "failed to delete the pod record \(key)", details: "\(error)")
        }
    }
}
