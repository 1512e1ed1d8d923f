import Kubernetes

/// The part of the API the sync mirrors, as the informers hold it: nodes, pods, namespaces and
/// network policies, plus the resource version each informer had seen when it was read.
public struct ClusterView: Sendable {
    public var nodes: [Node]
    public var pods: [Pod]
    public var namespaces: [Namespace]
    public var networkPolicies: [NetworkPolicy]
    /// Resource (plural) → the last resource version its informer had seen.
    public var resourceVersions: [String: String]

    public init(
        nodes: [Node] = [], pods: [Pod] = [], namespaces: [Namespace] = [], networkPolicies: [NetworkPolicy] = [],
        resourceVersions: [String: String] = [:]
    ) {
        self.nodes = nodes
        self.pods = pods
        self.namespaces = namespaces
        self.networkPolicies = networkPolicies
        self.resourceVersions = resourceVersions
    }

    /// The API versions the sync reads, by resource (what the marker records).
    public static let apiVersions: [String: String] = Dictionary(
        uniqueKeysWithValues: [ResourceType.nodes, .pods, .namespaces, .networkPolicies].map { ($0.plural, $0.apiVersion) })

    /// Whether a pod is mirrored: scheduled (`spec.nodeName`), not on the host's network, with at
    /// least one address, and not finished (`Succeeded`/`Failed` pods hold no address any more).
    public static func isMirrored(_ pod: Pod) -> Bool {
        guard let node = pod.nodeName, !node.isEmpty, !pod.hostNetwork, !pod.podIPs.isEmpty else { return false }
        return pod.phase != "Succeeded" && pod.phase != "Failed"
    }
}
