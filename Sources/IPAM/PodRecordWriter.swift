import CNISpec
import Datastore

/// What a plugin writes for the policy agent: the pod record (Datastore's `PodRecord` at
/// `/swiftcni/pods/<namespace>/<name>`) with the pod's identity (from `K8S_POD_NAMESPACE` and
/// `K8S_POD_NAME`, else the container ID), node, addresses and host interface. Failures are CNI
/// errors from the one IPAM table.
public struct PodRecordWriter: Sendable {
    public let registry: ClusterRegistry
    public let node: String

    public init(registry: ClusterRegistry, node: String) {
        self.registry = registry
        self.node = node
    }

    /// A writer on the store at `location` (`file:DIR` or `etcd:URL…`); an unusable location
    /// is the network configuration's error.
    public init(location: String, node: String, security: EtcdSecurity = .none) throws(CNIError) {
        do {
            self.init(registry: ClusterRegistry(store: try StoreLocation.open(location, security: security)), node: node)
        } catch {
            throw CNIError(.invalidNetworkConfig, "invalid \"datastore\" \(location)", details: "\(error)")
        }
    }

    /// The record's namespace and name for a request.
    public static func identity(_ request: PluginRequest) -> (namespace: String, name: String) {
        PodRecord.identity(
            podNamespace: request.arguments["K8S_POD_NAMESPACE"], podName: request.arguments["K8S_POD_NAME"], containerID: request.containerID,
            interface: request.interfaceName?.value)
    }

    /// Writes (or replaces) the pod's record, with the labels and named ports of `metadata`
    /// (``PodMetadata/fetch(_:timeoutMilliseconds:)``) when given.
    public func register(
        _ request: PluginRequest, addresses: [String], hostInterface: String?, metadata: PodMetadata? = nil
    ) async throws(CNIError) {
        let (namespace, name) = Self.identity(request)
        let record = PodRecord(
            namespace: namespace, name: name, node: node, containerID: request.containerID, interface: request.interfaceName?.value,
            addresses: addresses,
            hostInterface: hostInterface, labels: metadata?.labels ?? [:], ports: metadata.map(\.ports))
        do { try await registry.put(record) } catch {
            throw CNIError.fromIPAM(error, "failed to write the pod record of \(namespace)/\(name)")
        }
    }

    /// Deletes the record when it still belongs to this container.
    public func unregister(_ request: PluginRequest) async throws(CNIError) {
        let (namespace, name) = Self.identity(request)
        do { try await registry.deletePod(namespace: namespace, name: name, containerID: request.containerID) } catch {
            throw CNIError.fromIPAM(error, "failed to delete the pod record of \(namespace)/\(name)")
        }
    }
}
