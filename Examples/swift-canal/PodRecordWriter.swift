import CNISpec
import Datastore
import IPAM

/// The pod record (Datastore's `PodRecord`, `/swiftcni/pods/<namespace>/<name>`) the policy
/// agent reads: identity, node, addresses and the host interface.
struct PodRecordWriter: Sendable {
    let registry: ClusterRegistry
    let node: String

    init?(options: CanalOptions) throws(CNIError) {
        guard let location = options.datastore, let node = options.nodeName else { return nil }
        do { registry = ClusterRegistry(store: try StoreLocation.open(location, security: options.etcdSecurity)) } catch {
            throw CNIError(.invalidNetworkConfig, "invalid \"datastore\" \(location)", details: "\(error)")
        }
        self.node = node
    }

    static func identity(_ request: PluginRequest) -> (namespace: String, name: String) {
        PodRecord.identity(
            podNamespace: request.arguments["K8S_POD_NAMESPACE"], podName: request.arguments["K8S_POD_NAME"], containerID: request.containerID)
    }

    func register(_ request: PluginRequest, addresses: [String], hostInterface: String) async throws(CNIError) {
        let (namespace, name) = Self.identity(request)
        let record = PodRecord(
            namespace: namespace, name: name, node: node, containerID: request.containerID, addresses: addresses,
            hostInterface: hostInterface, labels: [:])
        do { try await registry.put(record) } catch {
            throw CNIError.fromIPAM(error, "failed to write the pod record of \(namespace)/\(name)")
        }
    }

    /// Deletes the record when it still belongs to this container.
    func unregister(_ request: PluginRequest) async throws(CNIError) {
        let (namespace, name) = Self.identity(request)
        do { try await registry.deletePod(namespace: namespace, name: name, containerID: request.containerID) } catch {
            throw CNIError.fromIPAM(error, "failed to delete the pod record of \(namespace)/\(name)")
        }
    }
}
