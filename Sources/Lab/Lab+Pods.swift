import CNISpec
import Foundation
import Namespaces
import NetPrimitives

extension Lab {
    /// The lab's pods, in creation order.
    public func pods() -> [LabPod] {
        state.pods.map { pod in
            LabPod(
                namespace: pod.namespace, name: pod.name, node: pod.node, address: pod.address,
                addresses: pod.addresses ?? pod.address.map { [$0] } ?? [], labels: pod.labels,
                networkNamespace: pod.networkNamespace, containerID: pod.containerID)
        }
    }

    /// Adds a pod on node `node`: a namespace networked by the plugin through the CNI runtime
    /// (launched inside the node namespace, container ID `<ns>-<name>-<random>`, CNI_ARGS
    /// `K8S_POD_NAMESPACE=<ns>;K8S_POD_NAME=<name>`), then the pod server inside it.
    @discardableResult
    public func addPod(_ pod: PodReference, node index: Int, labels: [String: String] = [:]) async throws -> LabPod {
        guard !state.pods.contains(where: { $0.namespace == pod.namespace && $0.name == pod.name }) else {
            throw LabError(.alreadyExists, "pod \(pod) exists")
        }
        let node = try nodeRecord(index)
        for key in labels.keys { try Self.validateLabelKey(key) }
        let server = try findExecutable("cnilab-pod-server")
        ensureNamespaceLabels(pod.namespace)
        let podIndex = state.nextPodIndex
        state.nextPodIndex += 1
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        var record = LabState.PodEntry(
            namespace: pod.namespace, name: pod.name, node: index,
            networkNamespace: LabNames.pod(lab: name, index: podIndex),
            containerID: "\(pod.namespace)-\(pod.name)-\(random)", labels: labels)
        state.pods.append(record)
        try recordNamespace(record.networkNamespace)
        do {
            if usesKubernetes { try await createKubernetesPod(record) }
            let namespace = try Self.createNamespace(record.networkNamespace)
            let nodeNamespace = try Self.openNamespace(node.namespace)
            do {
                let result = try await runtime(on: nodeNamespace).add(try networkConfiguration(node: index), attachment(record))
                // IPv4 first, then IPv6 (the plugin's order within a family).
                let addresses = try result.current().ips.map(\.address.address).sorted { $0.family == .v4 && $1.family == .v6 }
                record.addresses = addresses.map(\.description)
                record.address = addresses.first?.description
            } catch {
                throw LabError(.plugin, "ADD of pod \(pod) on node \(index) failed", underlying: error)
            }
            try Self.makeDirectory(stateDirectory + "/pods")
            record.server = try ProcessSupervisor.launch(
                role: "pod-server", executable: server, arguments: [], in: namespace,
                namespaceName: record.networkNamespace, log: stateDirectory + "/pods/\(podIndex).log")
            replacePod(record)
            try recordProcess(record.server!)
            try await waitForPodServer(in: namespace, record: record.server!)
            if usesKubernetes {
                try await reportKubernetesPodStatus(record)
            } else {
                try await publish(record)
                try await publishNamespaceLabels(pod.namespace)
            }
        } catch {
            // Roll back: the plugin's DEL (the ADD may have half-happened), the server, the
            // namespace and the record, so the same pod can be added again.
            await rollBack(record)
            throw error
        }
        return pods().first { $0.namespace == pod.namespace && $0.name == pod.name }!
    }

    /// Deletes a pod: its server stopped, CNI DEL through the runtime, its namespace removed.
    public func deletePod(_ pod: PodReference) async throws {
        let record = try podRecord(pod)
        if let server = record.server { ProcessSupervisor.stop(server, graceMilliseconds: 1_000) }
        forgetProcess(record.server)
        // As in a cluster: the pod leaves the API, then the kubelet tears its sandbox down.
        if usesKubernetes { try await deleteKubernetesPod(namespace: pod.namespace, name: pod.name) }
        if let node = try? nodeRecord(record.node), let nodeNamespace = try? NetworkNamespace.open(name: node.namespace) {
            do {
                try await runtime(on: nodeNamespace).delete(try networkConfiguration(node: record.node), attachment(record))
            } catch {
                throw LabError(.plugin, "DEL of pod \(pod) failed", underlying: error)
            }
        }
        if let namespace = try? NetworkNamespace.open(name: record.networkNamespace) { ProcessSupervisor.killAll(in: namespace) }
        try? NetworkNamespace.delete(name: record.networkNamespace)
        state.pods.removeAll { $0.namespace == pod.namespace && $0.name == pod.name }
        state.namespaces.removeAll { $0 == record.networkNamespace }
        try save()
        if !usesKubernetes { try await unpublish(record) }
    }

    /// Adds or overwrites labels; a key ending in `-` (`app-`) removes that label.
    public func labelPod(_ pod: PodReference, _ changes: [String]) async throws -> [String: String] {
        var record = try podRecord(pod)
        let old = record.labels
        record.labels = try Self.applyLabelChanges(changes, to: record.labels)
        if usesKubernetes { try await labelKubernetesPod(namespace: pod.namespace, name: pod.name, from: old, to: record.labels) }
        replacePod(record)
        try save()
        if !usesKubernetes { try await publish(record) }
        return record.labels
    }

    /// Adds or overwrites a namespace's labels (`KEY-` removes one). A namespace exists on
    /// first use, labelled `kubernetes.io/metadata.name=NS`.
    public func labelNamespace(_ namespace: String, _ changes: [String]) async throws -> [String: String] {
        try LabNames.validateKubernetesName(namespace, what: "namespace")
        ensureNamespaceLabels(namespace)
        let old = state.namespaceLabels[namespace] ?? [:]
        let labels = try Self.applyLabelChanges(changes, to: old)
        if usesKubernetes { try await labelKubernetesNamespace(namespace, from: old, to: labels) }
        state.namespaceLabels[namespace] = labels
        try save()
        if !usesKubernetes { try await publishNamespaceLabels(namespace) }
        return labels
    }

    /// Every namespace's labels.
    public func namespaceLabels() -> [String: [String: String]] { state.namespaceLabels }

    /// The network namespace of a pod (for `cnilab exec`).
    public func networkNamespace(of pod: PodReference) throws -> String { try podRecord(pod).networkNamespace }

    // MARK: - Helpers

    func rollBack(_ record: LabState.PodEntry) async {
        if usesKubernetes { try? await deleteKubernetesPod(namespace: record.namespace, name: record.name) }
        if let server = record.server { ProcessSupervisor.stop(server, graceMilliseconds: 1_000) }
        forgetProcess(record.server)
        if let nodeNamespace = try? NetworkNamespace.open(name: (try? nodeRecord(record.node).namespace) ?? ""),
            let configuration = try? networkConfiguration(node: record.node)
        {
            try? await runtime(on: nodeNamespace).delete(configuration, attachment(record))
        }
        if let namespace = try? NetworkNamespace.open(name: record.networkNamespace) { ProcessSupervisor.killAll(in: namespace) }
        try? NetworkNamespace.delete(name: record.networkNamespace)
        state.pods.removeAll { $0.namespace == record.namespace && $0.name == record.name }
        state.namespaces.removeAll { $0 == record.networkNamespace }
        try? save()
    }

    /// Waits until the pod server answers on the pod's loopback (every port and protocol), so
    /// a probe right after `addPod` finds it listening.
    func waitForPodServer(in namespace: NetworkNamespace, record: ProcessRecord) async throws {
        let targets = [80, 81].flatMap { port in
            ProbeProtocol.allCases.map {
                ProbeTarget(to: "self", address: .v4(IPv4Address(127, 0, 0, 1)), port: UInt16(port), protocol: $0)
            }
        }
        for _ in 0..<100 {
            if try await namespace.run({ Prober.probe(targets, timeoutMilliseconds: 100) }).allSatisfy({ $0 }) { return }
            guard ProcessSupervisor.isRunning(record) else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LabError(.process, "the pod server in \(record.namespace) does not answer; see \(record.log)")
    }

    func runtime(on node: NetworkNamespace) -> CNIRuntime {
        CNIRuntime(
            pluginDirectories: pluginDirectories, cacheDirectory: stateDirectory + "/cni-cache",
            launcher: NamespacePluginLauncher(namespace: node))
    }

    func attachment(_ pod: LabState.PodEntry) -> RuntimeAttachment {
        RuntimeAttachment(
            containerID: pod.containerID, networkNamespace: NetworkNamespace.namedDirectory + "/" + pod.networkNamespace,
            interfaceName: "eth0",
            // IgnoreUnknown=1 first, as containerd and CRI-O send it: the reference plugins
            // refuse keys they do not know otherwise.
            arguments: CNIArguments([
                .init(key: "IgnoreUnknown", value: "1"),
                .init(key: "K8S_POD_NAMESPACE", value: pod.namespace), .init(key: "K8S_POD_NAME", value: pod.name),
            ]))
    }

    func podRecord(_ pod: PodReference) throws -> LabState.PodEntry {
        guard let record = state.pods.first(where: { $0.namespace == pod.namespace && $0.name == pod.name }) else {
            throw LabError(.notFound, "no pod \(pod) in lab '\(name)'")
        }
        return record
    }

    func replacePod(_ record: LabState.PodEntry) {
        if let position = state.pods.firstIndex(where: { $0.namespace == record.namespace && $0.name == record.name }) {
            state.pods[position] = record
        }
    }

    func ensureNamespaceLabels(_ namespace: String) {
        if state.namespaceLabels[namespace] == nil {
            state.namespaceLabels[namespace] = ["kubernetes.io/metadata.name": namespace]
        }
    }

    static func validateLabelKey(_ key: String) throws {
        guard !key.isEmpty, key.utf8.count <= 253, !key.contains("="), !key.contains(" ") else {
            throw LabError(.invalidName, "label key '\(key)' is not allowed")
        }
    }

    /// Label changes as `cnilab` takes them: `KEY=VALUE` sets KEY (split at the first `=`),
    /// `KEY-` removes it (nil); a later change of a key wins. A key that is not allowed, or a
    /// change of neither form, is a `LabError`.
    public static func labelChanges(_ changes: [String]) throws -> [String: String?] {
        var result: [String: String?] = [:]
        for change in changes {
            if let equals = change.firstIndex(of: "=") {
                let key = String(change[..<equals])
                try validateLabelKey(key)
                result[key] = .some(String(change[change.index(after: equals)...]))
            } else if change.hasSuffix("-") {
                result[String(change.dropLast())] = .some(nil)
            } else {
                throw LabError(.invalidArgument, "a label change is KEY=VALUE or KEY-, not '\(change)'")
            }
        }
        return result
    }

    static func applyLabelChanges(_ changes: [String], to labels: [String: String]) throws -> [String: String] {
        var labels = labels
        for (key, value) in try labelChanges(changes) { labels[key] = value }
        return labels
    }
}
