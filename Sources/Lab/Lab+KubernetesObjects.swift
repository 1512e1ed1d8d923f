import Kubernetes
import Policy

/// The lab's nodes, pods, labels and Kubernetes policies as API objects (`cnilab up --kube`):
/// what a kubelet, kubectl and an admin would do against a cluster's API server.
extension Lab {
    /// Registers node I as a Node with its underlay address (`InternalIP`), before its agent starts.
    func registerKubernetesNode(_ index: Int) async throws {
        guard usesKubernetes else { return }
        let record = try nodeRecord(index)
        var node = Kubernetes.Node(name: record.name)
        node.json["status"] = [
            "addresses": [["type": "InternalIP", "address": .string(record.underlayAddress)], ["type": "Hostname", "address": .string(record.name)]],
            "conditions": [["type": "Ready", "status": "True"]],
        ]
        let client = try kubernetesClient()
        try await apiCall("create Node \(record.name)") {
            do { _ = try await client.create(node) } catch let error as KubernetesError where error.code == .alreadyExists {}
        }
    }

    func unregisterKubernetesNode(_ name: String) async {
        guard usesKubernetes, let client = try? kubernetesClient() else { return }
        try? await client.delete(Kubernetes.Node.self, name: name)
    }

    /// Creates the Pod (scheduled on its node, its labels, the pod server's named ports), as
    /// the scheduler leaves it for the kubelet.
    func createKubernetesPod(_ pod: LabState.PodEntry) async throws {
        try await ensureKubernetesNamespace(pod.namespace)
        let nodeName = try nodeRecord(pod.node).name
        var object = Kubernetes.Pod(name: pod.name, namespace: pod.namespace)
        object.labels = pod.labels
        let ports: [JSONValue] = Self.podServerPorts.map {
            ["name": .string($0.name), "containerPort": .integer(Int64($0.port)), "protocol": .string($0.protocol.description.uppercased())]
        }
        object.json["spec"] = [
            "nodeName": .string(nodeName),
            "containers": [["name": "pod-server", "image": "cnilab-pod-server", "ports": .array(ports)]],
        ]
        let client = try kubernetesClient()
        _ = try await apiCall("create Pod \(pod.namespace)/\(pod.name)") { try await client.create(object) }
    }

    /// The kubelet's status update after the sandbox is up: Running, its address, the host's.
    func reportKubernetesPodStatus(_ pod: LabState.PodEntry) async throws {
        let client = try kubernetesClient()
        let ips: [JSONValue] = (pod.addresses ?? pod.address.map { [$0] } ?? []).map { ["ip": .string($0)] }
        let hostIP = try nodeRecord(pod.node).underlayAddress
        let podIP: JSONValue = pod.address.map { .string($0) } ?? .null
        let patch: JSONValue = [
            "status": [
                "phase": "Running", "podIP": podIP, "podIPs": .array(ips),
                "hostIP": .string(hostIP),
            ]
        ]
        _ = try await apiCall("update the status of Pod \(pod.namespace)/\(pod.name)") {
            try await client.patch(Kubernetes.Pod.self, name: pod.name, namespace: pod.namespace, patch: patch, subresource: "status")
        }
    }

    func deleteKubernetesPod(namespace: String, name: String) async throws {
        let client = try kubernetesClient()
        try await apiCall("delete Pod \(namespace)/\(name)") {
            do { try await client.delete(Kubernetes.Pod.self, name: name, namespace: namespace) } catch let error as KubernetesError
                where error.code == .notFound
            {}
        }
    }

    /// Sets a pod's labels to `labels` (`kubectl label pod`): removed keys are patched to null.
    func labelKubernetesPod(namespace: String, name: String, from old: [String: String], to labels: [String: String]) async throws {
        let client = try kubernetesClient()
        let patch = Self.labelPatch(from: old, to: labels)
        _ = try await apiCall("label Pod \(namespace)/\(name)") {
            try await client.patch(Kubernetes.Pod.self, name: name, namespace: namespace, patch: patch)
        }
    }

    /// Creates the namespace when missing, then sets its labels (`kubectl label namespace`).
    func labelKubernetesNamespace(_ namespace: String, from old: [String: String], to labels: [String: String]) async throws {
        try await ensureKubernetesNamespace(namespace)
        let client = try kubernetesClient()
        _ = try await apiCall("label Namespace \(namespace)") {
            try await client.patch(Kubernetes.Namespace.self, name: namespace, patch: Self.labelPatch(from: old, to: labels))
        }
    }

    func ensureKubernetesNamespace(_ namespace: String) async throws {
        let client = try kubernetesClient()
        var object = Kubernetes.Namespace(name: namespace)
        object.labels = state.namespaceLabels[namespace] ?? ["kubernetes.io/metadata.name": namespace]
        try await apiCall("create Namespace \(namespace)") {
            do { _ = try await client.create(object) } catch let error as KubernetesError where error.code == .alreadyExists {}
        }
    }

    static func labelPatch(from old: [String: String], to labels: [String: String]) -> JSONValue {
        var changes: JSONObject = [:]
        for key in old.keys where labels[key] == nil { changes[key] = .null }
        for (key, value) in labels where old[key] != value { changes[key] = .string(value) }
        return ["metadata": ["labels": .object(changes)]]
    }

    /// Creates or replaces a NetworkPolicy (`kubectl apply`).
    func applyKubernetesPolicy(_ policy: LabPolicy) async throws {
        let client = try kubernetesClient()
        let document: JSONObject
        do { document = try JSONValue.decodeObject(Array(policy.document.utf8)) } catch {
            throw LabError(.invalidArgument, "policy \(policy.qualifiedName) is not a JSON object", underlying: error)
        }
        var object = Kubernetes.NetworkPolicy(json: document)
        try await ensureKubernetesNamespace(policy.namespace ?? "default")
        try await apiCall("apply NetworkPolicy \(policy.qualifiedName)") {
            do { _ = try await client.create(object) } catch let error as KubernetesError where error.code == .alreadyExists {
                let current = try await client.get(Kubernetes.NetworkPolicy.self, name: object.name, namespace: object.namespace)
                object.json["metadata"] = current.json["metadata"]
                object.labels = Kubernetes.NetworkPolicy(json: document).labels
                _ = try await client.update(object)
            }
        }
    }

    /// Deletes a NetworkPolicy; returns whether it existed.
    func deleteKubernetesPolicy(namespace: String, name: String) async throws -> Bool {
        let client = try kubernetesClient()
        return try await apiCall("delete NetworkPolicy \(namespace)/\(name)") {
            do {
                try await client.delete(Kubernetes.NetworkPolicy.self, name: name, namespace: namespace)
                return true
            } catch let error as KubernetesError where error.code == .notFound {
                return false
            }
        }
    }
}
