import Datastore
import Kubernetes

/// The pure core of swift-kube-sync: the API's state (``ClusterView``) and the store's values
/// under ``SyncStoreView/prefixes`` in, the store operations that make the store reflect the API
/// out. Level-triggered: planning again after applying finds nothing to do.
///
/// Ownership rules (``SyncMarks``):
/// - A pod record is created when absent; a record a plugin or the lab wrote (same key) gets
///   the pod's node, addresses, labels and named ports merged in (its other fields kept) and the
///   mark. When the pod goes, a record only the sync wrote (marked, no container ID, no host
///   interface) is deleted; from a record a plugin also wrote only the mark is removed (the
///   plugin's DEL deletes it).
/// - Node records, policy documents and namespace label maps are written only when absent or
///   already the sync's, and deleted only when the sync's. A foreign one is left alone and
///   reported (``KubeSyncError/Code/foreignKey``).
/// - A value that does not decode is left alone and reported (``KubeSyncError/Code/malformedRecord``).
public enum SyncPlanner {
    public static func plan(cluster: ClusterView, store: [String: KeyValue]) -> SyncPlan {
        var plan = SyncPlan()
        planPods(cluster, store, &plan)
        planNodes(cluster, store, &plan)
        planPolicies(cluster, store, &plan)
        planNamespaces(cluster, store, &plan)
        return plan
    }

    // MARK: Desired values

    /// The record the sync wants for `pod` (before merging into what is stored).
    public static func podRecord(for pod: Pod) -> PodRecord {
        let ports = pod.namedPorts.keys.sorted().map { name in
            let (port, transport) = pod.namedPorts[name]!
            return PortRecord(name: name, port: UInt16(clamping: port), protocol: transport)
        }
        return PodRecord(
            namespace: pod.namespace ?? "default", name: pod.name, node: pod.nodeName, addresses: pod.podIPs,
            labels: pod.labels, ports: ports, unknownFields: [SyncMarks.recordField: .string(pod.metadata.uid ?? "")])
    }

    /// The record the sync wants for `node`: its internal addresses (else any address) and pod CIDRs.
    public static func nodeRecord(for node: Node) -> NodeRecord {
        let internalAddresses = node.addresses.filter { $0.type == "InternalIP" }.map(\.address)
        let addresses = internalAddresses.isEmpty ? node.addresses.filter { $0.type.hasSuffix("IP") }.map(\.address) : internalAddresses
        return NodeRecord(
            name: node.name, addresses: addresses, podCIDRs: node.podCIDRs.isEmpty ? nil : node.podCIDRs,
            unknownFields: [SyncMarks.recordField: .string(node.metadata.uid ?? "")])
    }

    /// The document stored for `policy`: apiVersion, kind, name, namespace, the mark and spec.
    public static func policyDocument(for policy: NetworkPolicy) -> JSONValue {
        .object([
            "apiVersion": .string(ResourceType.networkPolicies.apiVersion), "kind": "NetworkPolicy",
            "metadata": .object([
                "name": .string(policy.name), "namespace": .string(policy.namespace ?? "default"),
                "annotations": .object([SyncMarks.policyAnnotation: .string(policy.metadata.uid ?? "")]),
            ]),
            "spec": .object(policy.spec),
        ])
    }

    /// The label map stored for `namespace` (always with `kubernetes.io/metadata.name`).
    public static func namespaceLabels(for namespace: Namespace) -> [String: String] {
        var labels = namespace.labels
        labels["kubernetes.io/metadata.name"] = namespace.name
        return labels
    }

    // MARK: Pods

    static func planPods(_ cluster: ClusterView, _ store: [String: KeyValue], _ plan: inout SyncPlan) {
        var wanted: Set<String> = []
        for pod in cluster.pods where ClusterView.isMirrored(pod) {
            let desired = podRecord(for: pod)
            let key = desired.key
            wanted.insert(key)
            guard let current = store[key] else {
                if let value = encode(desired, key, &plan) { plan.operations.append(.put(key, value, expecting: .absent)) }
                continue
            }
            let existing: PodRecord
            do { existing = try PodRecord(decoding: current.value, key: key) } catch {
                plan.problems.append(KubeSyncError(.malformedRecord, "pod record left alone: \(error.message)", key: key))
                continue
            }
            var merged = existing
            merged.node = desired.node
            merged.addresses = desired.addresses
            merged.labels = desired.labels
            merged.ports = desired.ports
            merged.unknownFields[SyncMarks.recordField] = desired.unknownFields[SyncMarks.recordField]
            if merged != existing, let value = encode(merged, key, &plan) {
                plan.operations.append(.put(key, value, expecting: .modRevision(current.modRevision)))
            }
        }
        for (key, current) in store where key.hasPrefix(KeyLayout.pods) && !wanted.contains(key) {
            guard var record = try? PodRecord(decoding: current.value, key: key), SyncMarks.mark(of: record.unknownFields) != nil else {
                continue
            }
            if record.containerID == nil && record.hostInterface == nil {
                plan.operations.append(.delete(key, expecting: .modRevision(current.modRevision)))
            } else {
                record.unknownFields[SyncMarks.recordField] = nil
                if let value = encode(record, key, &plan) {
                    plan.operations.append(.put(key, value, expecting: .modRevision(current.modRevision)))
                }
            }
        }
    }

    // MARK: Nodes

    static func planNodes(_ cluster: ClusterView, _ store: [String: KeyValue], _ plan: inout SyncPlan) {
        var wanted: Set<String> = []
        for node in cluster.nodes {
            let desired = nodeRecord(for: node)
            let key = desired.key
            wanted.insert(key)
            guard let current = store[key] else {
                if let value = encode(desired, key, &plan) { plan.operations.append(.put(key, value, expecting: .absent)) }
                continue
            }
            guard let existing = try? NodeRecord(decoding: current.value, key: key) else {
                plan.problems.append(KubeSyncError(.malformedRecord, "node record left alone (does not decode)", key: key))
                continue
            }
            guard SyncMarks.mark(of: existing.unknownFields) != nil else { continue }  // an agent's registration
            // Its own record: addresses, pod CIDRs and the mark follow the API; anything else
            // (an agent's AS number or port merged in) is kept.
            var merged = existing
            merged.addresses = desired.addresses
            merged.podCIDRs = desired.podCIDRs
            merged.unknownFields[SyncMarks.recordField] = desired.unknownFields[SyncMarks.recordField]
            if merged != existing, let value = encode(merged, key, &plan) {
                plan.operations.append(.put(key, value, expecting: .modRevision(current.modRevision)))
            }
        }
        for (key, current) in store where key.hasPrefix(KeyLayout.nodes) && !wanted.contains(key) {
            guard let record = try? NodeRecord(decoding: current.value, key: key), SyncMarks.mark(of: record.unknownFields) != nil else {
                continue
            }
            plan.operations.append(.delete(key, expecting: .modRevision(current.modRevision)))
        }
    }

    // MARK: Network policies

    static func planPolicies(_ cluster: ClusterView, _ store: [String: KeyValue], _ plan: inout SyncPlan) {
        var wanted: Set<String> = []
        for policy in cluster.networkPolicies {
            let key = KeyLayout.kubernetesPolicy(namespace: policy.namespace ?? "default", name: policy.name)
            wanted.insert(key)
            let desired = policyDocument(for: policy)
            guard let current = store[key] else {
                plan.operations.append(.put(key, desired.encoded(), expecting: .absent))
                continue
            }
            guard SyncMarks.mark(ofPolicy: current.value) != nil else {
                plan.problems.append(KubeSyncError(.foreignKey, "NetworkPolicy \(policy.key) not mirrored: another writer stored a policy there", key: key))
                continue
            }
            if (try? JSONValue.decode(current.value)) != desired {
                plan.operations.append(.put(key, desired.encoded(), expecting: .modRevision(current.modRevision)))
            }
        }
        let prefix = KeyLayout.policies + "k8s/"
        for (key, current) in store where key.hasPrefix(prefix) && !wanted.contains(key) && SyncMarks.mark(ofPolicy: current.value) != nil {
            plan.operations.append(.delete(key, expecting: .modRevision(current.modRevision)))
        }
    }

    // MARK: Namespaces

    static func planNamespaces(_ cluster: ClusterView, _ store: [String: KeyValue], _ plan: inout SyncPlan) {
        var wanted: Set<String> = []
        for namespace in cluster.namespaces {
            let name = namespace.name
            wanted.insert(name)
            let claimKey = KeyLayout.kubernetesSyncNamespaceClaim(name)
            let labelsKey = KeyLayout.namespaceLabels + name
            let value = JSONValue.object(namespaceLabels(for: namespace).mapValues { .string($0) }).encoded()
            switch (store[claimKey], store[labelsKey]) {
            case (nil, nil):
                let claim = JSONValue.object(["uid": .string(namespace.metadata.uid ?? "")]).encoded()
                plan.operations.append(.put(claimKey, claim, expecting: .absent))
                plan.operations.append(.put(labelsKey, value, expecting: .absent))
            case (nil, .some):
                plan.problems.append(KubeSyncError(.foreignKey, "labels of namespace \(name) not mirrored: another writer stored them", key: labelsKey))
            case (.some, nil):
                plan.operations.append(.put(labelsKey, value, expecting: .absent))
            case (.some, .some(let current)):
                if (try? JSONValue.decode(current.value)) != (try? JSONValue.decode(value)) {
                    plan.operations.append(.put(labelsKey, value, expecting: .modRevision(current.modRevision)))
                }
            }
        }
        for (claimKey, claim) in store where claimKey.hasPrefix(KeyLayout.kubernetesSyncNamespaceClaims) {
            let name = String(claimKey.dropFirst(KeyLayout.kubernetesSyncNamespaceClaims.count))
            guard !wanted.contains(name) else { continue }
            let labelsKey = KeyLayout.namespaceLabels + name
            if let current = store[labelsKey] {
                plan.operations.append(.delete(labelsKey, expecting: .modRevision(current.modRevision)))
            }
            plan.operations.append(.delete(claimKey, expecting: .modRevision(claim.modRevision)))
        }
    }

    private static func encode(_ record: PodRecord, _ key: String, _ plan: inout SyncPlan) -> [UInt8]? {
        do { return try record.encoded() } catch {
            plan.problems.append(KubeSyncError(.malformedRecord, "cannot encode: \(error.message)", key: key))
            return nil
        }
    }

    private static func encode(_ record: NodeRecord, _ key: String, _ plan: inout SyncPlan) -> [UInt8]? {
        do { return try record.encoded() } catch {
            plan.problems.append(KubeSyncError(.malformedRecord, "cannot encode: \(error.message)", key: key))
            return nil
        }
    }
}
