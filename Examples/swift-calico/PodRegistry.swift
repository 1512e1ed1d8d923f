import CNISpec
import Datastore
import IPAM

/// The pod records (Datastore's `PodRecord` through its `ClusterRegistry`), written after a
/// successful ADD when the configuration names a datastore and a node, so agents and the lab
/// can find each pod's addresses and host interface.
struct PodRegistry: Sendable {
    var registry: ClusterRegistry

    init?(configuration: CalicoNetworkConfiguration) throws(CNIError) {
        guard let datastore = configuration.options.datastore, configuration.options.nodeName != nil else { return nil }
        do { registry = ClusterRegistry(store: try StoreLocation.open(datastore, security: configuration.etcdSecurity)) } catch {
            throw CNIError(.invalidNetworkConfig, "invalid \"datastore\" \(datastore)", details: "\(error)")
        }
    }

    func register(_ record: PodRecord) async throws(CNIError) {
        do { try await registry.put(record) } catch {
            throw CNIError.fromIPAM(error, "failed to write the pod record \(record.key)")
        }
    }

    /// Deletes the record when it still belongs to this container.
    func unregister(identity: PodIdentity) async throws(CNIError) {
        do {
            try await registry.deletePod(namespace: identity.recordNamespace, name: identity.recordName, containerID: identity.containerID)
        } catch {
            throw CNIError.fromIPAM(error, "failed to delete the pod record of \(identity.recordNamespace)/\(identity.recordName)")
        }
    }

    /// GC: deletes the records of `node`'s pods whose container is not in `validContainerIDs`.
    func garbageCollect(node: String, validContainerIDs: Set<String>) async throws(CNIError) {
        do { try await registry.collectPods(onNode: node, validContainerIDs: validContainerIDs) } catch {
            throw CNIError.fromIPAM(error, "failed to collect stale pod records")
        }
    }
}

extension PodIdentity {
    /// The pod record's key components (`/swiftcni/pods/<namespace>/<name>`, Datastore's
    /// `PodRecord.identity`): without Kubernetes arguments the namespace is `_` and the name the
    /// container ID; one record per attachment (a second interface's name is `<name>:<interface>`).
    var recordIdentity: (namespace: String, name: String) {
        PodRecord.identity(podNamespace: namespace, podName: name, containerID: containerID, interface: interfaceName)
    }
    var recordNamespace: String { recordIdentity.namespace }
    var recordName: String { recordIdentity.name }
}
