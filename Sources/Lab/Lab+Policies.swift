import Datastore
import Foundation
import NetPrimitives
import Policy

/// Network policies in the lab's Datastore (keys of ``LabPolicy``), and the Policy library's
/// evaluator over the lab's pods: what `cnilab policy apply|delete|list|explain` does. The
/// agents enforce what is stored; the lab only stores and explains.
extension Lab {
    /// Stores every policy of `text` (YAML or JSON, several documents). A policy with the key of
    /// a stored one replaces it. The whole text is validated first: on a bad document nothing
    /// is stored.
    @discardableResult
    public func applyPolicies(_ text: String) async throws -> [LabPolicy] {
        let documents = try LabPolicy.documents(parsing: text)
        for policy in documents {
            // Through the API (`cnilab up --kube`): swift-kube-sync stores it. Calico's kinds
            // have no API here (no CRDs): they go to the store as before.
            if usesKubernetes && policy.kind == .kubernetes {
                try await applyKubernetesPolicy(policy)
            } else {
                try await storePut(policy.key, policy.document)
            }
        }
        return documents
    }

    /// The stored policies, sorted by key. (Values under the prefix that hold no single
    /// policy, such as a Tier another tool stored, are not listed; ``policySet()`` reads them.)
    public func policies() async throws -> [LabPolicy] {
        try await storeList(prefix: LabPolicy.keyPrefix).compactMap { key, value in
            if let set = try? PolicySet(parsing: value), set.networkPolicies.count + set.calicoPolicies.count != 1 { return nil }
            return try LabPolicy.policy(from: value, key: key)
        }
    }

    /// Deletes the namespaced policies `namespace/name` (Kubernetes and Calico ones of that
    /// name); returns what was deleted. Throws `notFound` when there is none.
    @discardableResult
    public func deletePolicy(namespace: String, name: String) async throws -> [LabPolicy] {
        try LabNames.validateKubernetesName(namespace, what: "namespace")
        var deleted = try await policies().filter { $0.kind != .calicoGlobal && $0.namespace == namespace && $0.name == name }
        if usesKubernetes {
            // The API holds the Kubernetes ones (the store's copy is swift-kube-sync's).
            let stored = deleted.first { $0.kind == .kubernetes }
            deleted.removeAll { $0.kind == .kubernetes }
            if try await deleteKubernetesPolicy(namespace: namespace, name: name) {
                deleted.append(
                    stored
                        ?? LabPolicy(
                            kind: .kubernetes, namespace: namespace, name: name,
                            key: LabPolicy.kubernetesKey(namespace: namespace, name: name), document: "{}"))
            }
        }
        guard !deleted.isEmpty else { throw LabError(.notFound, "no policy \(namespace)/\(name) in lab '\(self.name)'") }
        for policy in deleted where !(usesKubernetes && policy.kind == .kubernetes) { try await storeDelete(policy.key) }
        return deleted
    }

    /// Deletes the GlobalNetworkPolicy `name`. Throws `notFound` when there is none.
    @discardableResult
    public func deleteGlobalPolicy(name: String) async throws -> LabPolicy {
        guard let policy = try await policies().first(where: { $0.kind == .calicoGlobal && $0.name == name }) else {
            throw LabError(.notFound, "no GlobalNetworkPolicy \(name) in lab '\(self.name)'")
        }
        try await storeDelete(policy.key)
        return policy
    }

    /// Every value under the policy prefix as the Policy library's set (as the agents read it).
    public func policySet() async throws -> PolicySet {
        var set = PolicySet()
        for (key, value) in try await storeList(prefix: LabPolicy.keyPrefix) {
            do { set.merge(try PolicySet(parsing: value)) } catch {
                throw LabError(.state, "stored policy \(key) is not valid", underlying: error)
            }
        }
        return set
    }

    /// The named ports of the pod server every lab pod runs.
    public static let podServerPorts: [NamedPort] = [80, 81].flatMap { port in
        [NamedPort(name: "serve-\(port)-tcp", port: UInt16(port), protocol: .tcp),
         NamedPort(name: "serve-\(port)-udp", port: UInt16(port), protocol: .udp)]
    }

    /// The lab's pods and nodes as the Policy library sees them: addresses, labels, namespace
    /// labels, the pod server's named ports, node names and underlay addresses.
    public func policyCluster() throws -> ClusterState {
        let endpoints = state.pods.map { pod in
            Endpoint(
                namespace: pod.namespace, name: pod.name, addresses: pod.address.flatMap { IPAddress($0) }.map { [$0] } ?? [],
                labels: pod.labels, namespaceLabels: state.namespaceLabels[pod.namespace] ?? [:],
                namedPorts: Self.podServerPorts, node: (try? nodeRecord(pod.node).name) ?? "node-\(pod.node)")
        }
        let nodes = state.nodes.map { ClusterNode(name: $0.name, addresses: IPAddress($0.underlayAddress).map { [$0] } ?? []) }
        do { return try ClusterState(endpoints: endpoints, nodes: nodes) } catch {
            throw LabError(.state, "the lab's pods do not form a valid cluster state", underlying: error)
        }
    }

    /// The Policy evaluator's decision on a connection from pod `source` to pod `destination`.
    public func explainPolicy(
        from source: PodReference, to destination: PodReference, port: UInt16, protocol transport: TransportProtocol
    ) async throws -> LabPolicyExplanation {
        _ = try podRecord(source)
        _ = try podRecord(destination)
        let evaluator = PolicyEvaluator(policies: try await policySet(), cluster: try policyCluster())
        let packet = Packet(
            from: .pod(source.namespace, source.name), to: .pod(destination.namespace, destination.name), protocol: transport,
            port: port)
        do { return LabPolicyExplanation(try evaluator.explain(packet)) } catch {
            throw LabError(.invalidArgument, "cannot evaluate \(packet)", underlying: error)
        }
    }

    /// `(key, value)` of every store key under `prefix`, sorted by key.
    func storeList(prefix: String) async throws -> [(String, String)] {
        if usesEtcd {
            let output = try etcdctl(["get", "--prefix", prefix, "-w", "json"])
            guard output.status.isSuccess else { throw LabError(.state, "etcdctl get --prefix \(prefix) failed: \(output.standardErrorText)") }
            let object = try? JSONSerialization.jsonObject(with: Data(output.standardOutput)) as? [String: Any]
            let kvs = object?["kvs"] as? [[String: Any]] ?? []
            return kvs.compactMap { item in
                guard let key = (item["key"] as? String).flatMap({ Data(base64Encoded: $0) }),
                    let value = (item["value"] as? String).flatMap({ Data(base64Encoded: $0) })
                else { return nil }
                return (String(decoding: key, as: UTF8.self), String(decoding: value, as: UTF8.self))
            }.sorted { $0.0 < $1.0 }
        }
        let datastore = try FileStoreAccess.open(state.store)
        do {
            let listing = try await datastore.list(prefix: prefix)
            await datastore.close()
            return listing.items.map { ($0.key, String(decoding: $0.value, as: UTF8.self)) }.sorted { $0.0 < $1.0 }
        } catch {
            await datastore.close()
            throw LabError(.state, "cannot list \(prefix) in \(state.store)", underlying: error)
        }
    }
}

/// The evaluator's decision on one connection, with the deciding policy and rule.
public struct LabPolicyExplanation: Encodable, Sendable {
    public var isAllowed: Bool
    /// The policy that decided (`nil` when no policy selects either end).
    public var decidingPolicy: String?
    /// The rule that decided (`nil` for a default deny or when nothing is isolated).
    public var decidingRule: String?
    /// Why, in words.
    public var reason: String
    /// The evaluator's full explanation.
    public var explanation: Explanation

    init(_ explanation: Explanation) {
        self.explanation = explanation
        isAllowed = explanation.isAllowed
        // As `Explanation.decidingRule`: a deny of either direction (egress first) decides;
        // otherwise an allowing rule, the destination's ingress first.
        let allowing = [explanation.ingress, explanation.egress].compactMap { $0 }
        let decisive =
            explanation.isAllowed
            ? allowing.first { if case .allowedByRule = $0.reason { true } else { false } } ?? allowing.first
            : [explanation.egress, explanation.ingress].compactMap { $0 }.first { !$0.isAllowed }
        reason = decisive?.description ?? "neither end is a pod"
        switch decisive?.reason {
        case let .allowedByRule(rule), let .deniedByRule(rule), let .passedToProfile(rule):
            decidingRule = rule.description
            decidingPolicy = rule.policy.description
        case let .noRuleMatched(_, policies):
            decidingRule = nil
            decidingPolicy = policies.map(\.description).joined(separator: ", ")
        default:
            decidingRule = nil
            decidingPolicy = nil
        }
    }

    enum CodingKeys: String, CodingKey { case allowed, decidingPolicy, decidingRule, reason, explanation }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(isAllowed, forKey: .allowed)
        try container.encode(decidingPolicy, forKey: .decidingPolicy)
        try container.encode(decidingRule, forKey: .decidingRule)
        try container.encode(reason, forKey: .reason)
        try container.encode(explanation, forKey: .explanation)
    }
}
