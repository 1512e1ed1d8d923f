import Datastore

/// The Datastore keys the policy agent reads (Documentation/Datastore.md; the policy keys are
/// `KeyLayout`'s).
///
/// - `/swiftcni/policies/k8s/<namespace>/<name>`: a Kubernetes NetworkPolicy (JSON or YAML);
/// - `/swiftcni/policies/calico/<namespace>/<name>`: a Calico NetworkPolicy;
/// - `/swiftcni/policies/calico/global/<name>`: a Calico GlobalNetworkPolicy.
///
/// Every value under `/swiftcni/policies/` is parsed as one or more policy documents, so the
/// layout below the prefix only has to keep identities apart.
public enum PolicyStoreKeys {
    public static let policies = KeyLayout.policies
    public static let pods = KeyLayout.root + "/pods/"
    public static let podLabels = KeyLayout.root + "/labels/pod/"
    public static let namespaceLabels = KeyLayout.root + "/labels/namespace/_cluster/"
    public static let nodes = KeyLayout.nodes

    /// `/swiftcni/policies/k8s/<namespace>/<name>`.
    public static func kubernetesPolicy(namespace: String, name: String) -> String {
        KeyLayout.kubernetesPolicy(namespace: namespace, name: name)
    }
    /// `/swiftcni/policies/calico/<namespace>/<name>`.
    public static func calicoPolicy(namespace: String, name: String) -> String {
        KeyLayout.calicoPolicy(namespace: namespace, name: name)
    }
    /// `/swiftcni/policies/calico/global/<name>`.
    public static func globalPolicy(name: String) -> String { KeyLayout.calicoGlobalPolicy(name: name) }
    /// `/swiftcni/labels/pod/<namespace>/<name>`.
    public static func podLabels(namespace: String, name: String) -> String { podLabels + "\(namespace)/\(name)" }
    /// `/swiftcni/labels/namespace/_cluster/<namespace>`.
    public static func namespaceLabels(_ namespace: String) -> String { namespaceLabels + namespace }

    /// Whether a change of `key` can change what the agent enforces.
    public static func isRelevant(_ key: String) -> Bool {
        key.hasPrefix(policies) || key.hasPrefix(pods) || key.hasPrefix(podLabels) || key.hasPrefix(namespaceLabels)
            || key.hasPrefix(nodes)
    }
}
