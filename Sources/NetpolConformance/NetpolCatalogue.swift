/// Every upstream Kubernetes NetworkPolicy e2e case (test/e2e/network/netpol/network_policy.go
/// in kubernetes/kubernetes) re-expressed over ``NetpolModel``, grouped by theme, in upstream's
/// order within a theme; plus ``supplementary`` cases of our own and the list of upstream cases
/// left out, with the reason.
///
/// Each case's policies are `networking.k8s.io/v1` YAML and its expectations upstream's
/// truth tables over all nine pods. Cases whose policies name no port or protocol probe TCP
/// and UDP with the same table; the others probe upstream's protocol and add the other one
/// with the table Kubernetes semantics give.
public enum NetpolCatalogue {
    /// The upstream cases.
    public static var cases: [NetpolCase] {
        isolationCases + selectorCases + portCases + lifecycleCases + ipBlockCases + protocolContextCases
    }

    /// The upstream cases and then the ``supplementary`` ones.
    public static var all: [NetpolCase] { cases + supplementary }

    /// The cases CI runs (``NetpolCase/isRepresentative``), from ``all``.
    public static var representative: [NetpolCase] { all.filter(\.isRepresentative) }

    /// The case with identifier `id`, from ``all``.
    public static func `case`(id: String) -> NetpolCase? { all.first { $0.id == id } }

    /// Upstream cases not in ``cases``: the upstream title (with its context) and why.
    public static let omitted: [(title: String, reason: String)] = [
        (
            title: "\(NetpolUpstreamContext.sctp) should support a 'default-deny-ingress' policy",
            reason: "SCTP cannot be probed here (the kernel has no SCTP sockets); its policy names no protocol, so its TCP and "
                + "UDP consequences are exactly those of default-deny-ingress and udp-default-deny-ingress"
        ),
        (
            title: "\(NetpolUpstreamContext.sctp) should enforce policy to allow traffic only from a pod in a different namespace "
                + "based on PodSelector and NamespaceSelector",
            reason: "SCTP cannot be probed here (the kernel has no SCTP sockets); its policy names no protocol, so its TCP and "
                + "UDP consequences are exactly those of pod-in-other-namespace and udp-pod-in-other-namespace"
        ),
    ]
}
