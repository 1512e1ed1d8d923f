/// Upstream cases about peer selection: podSelector, namespaceSelector (matchLabels and
/// matchExpressions, the API server's `kubernetes.io/metadata.name` label), both in one peer
/// (AND) or in separate peers (OR), for ingress and egress. Their policies name no port or
/// protocol, so every probe runs over TCP and UDP with the same table.
extension NetpolCatalogue {
    static var selectorCases: [NetpolCase] {
        [
            NetpolCase(
                id: "pod-selector-within-namespace",
                upstreamTitle: "should enforce policy to allow traffic from pods within server namespace based on PodSelector",
                steps: [
                    .apply(NetpolYAML.policy("x", "x-a-allows-x-b", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - podSelector:
                              matchLabels: {pod: b}
                        """)),
                    .probeTCPAndUDP(.onlyXBReachesXA),
                ]),
            NetpolCase(
                id: "namespace-selector",
                upstreamTitle: "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
                isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-client-a-via-ns-selector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchLabels: {kubernetes.io/metadata.name: y}
                        """)),
                    .probeTCPAndUDP(.onlyNamespaceYReachesXA),
                ]),
            NetpolCase(
                id: "pod-selector-match-expressions", upstreamTitle: "should enforce policy based on PodSelector with MatchExpressions",
                steps: [
                    .apply(NetpolYAML.policy("x", "x-a-allows-x-b", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - podSelector:
                              matchExpressions:
                              - {key: pod, operator: In, values: [b]}
                        """)),
                    .probeTCPAndUDP(.onlyXBReachesXA),
                ]),
            NetpolCase(
                id: "namespace-selector-match-expressions",
                upstreamTitle: "should enforce policy based on NamespaceSelector with MatchExpressions",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ns-y-match-selector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchExpressions:
                              - {key: kubernetes.io/metadata.name, operator: In, values: [y]}
                        """)),
                    .probeTCPAndUDP(.onlyNamespaceYReachesXA),
                ]),
            NetpolCase(
                id: "pod-or-namespace-selector", upstreamTitle: "should enforce policy based on PodSelector or NamespaceSelector",
                isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ns-y-match-selector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchExpressions:
                              - {key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}
                          - podSelector:
                              matchLabels: {pod: b}
                        """)),
                    .probeTCPAndUDP(.table { $0.expect(from: .xc, to: .xa, false) }),
                ]),
            NetpolCase(
                id: "pod-and-namespace-selector", upstreamTitle: "should enforce policy based on PodSelector and NamespaceSelector",
                isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ns-y-podselector-and-nsselector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchExpressions:
                              - {key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}
                            podSelector:
                              matchLabels: {pod: b}
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectAllIngress(.xa, false)
                        $0.expect(from: .yb, to: .xa, true)
                        $0.expect(from: .zb, to: .xa, true)
                    }),
                ]),
            NetpolCase(
                id: "multiple-pod-and-namespace-selectors",
                upstreamTitle: "should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ns-y-z-pod-b-c", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchExpressions:
                              - {key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}
                            podSelector:
                              matchExpressions:
                              - {key: pod, operator: In, values: [b, c]}
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectPeer(from: Peer(namespace: "x"), to: Peer(namespace: "x", pod: "a"), false)
                        $0.expect(from: .ya, to: .xa, false)
                        $0.expect(from: .za, to: .xa, false)
                    }),
                ]),
            NetpolCase(
                id: "any-pod-selectors", upstreamTitle: "should enforce policy based on any PodSelectors",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ns-x-pod-b-c", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - podSelector:
                              matchLabels: {pod: b}
                          - podSelector:
                              matchLabels: {pod: c}
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectAllIngress(.xa, false)
                        $0.expect(from: .xb, to: .xa, true)
                        $0.expect(from: .xc, to: .xa, true)
                    }),
                ]),
            NetpolCase(
                id: "pod-in-other-namespace",
                upstreamTitle:
                    "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
                steps: [.apply(allowYAFromNamespaceAndPod), .probeTCPAndUDP(.onlyYAReachesXA)]),
            NetpolCase(
                id: "egress-denied-on-client-side",
                upstreamTitle: "should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-to-ns-y-pod-a", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Egress]
                        egress:
                        - to:
                          - namespaceSelector:
                              matchLabels: {kubernetes.io/metadata.name: y}
                            podSelector:
                              matchLabels: {pod: a}
                        """)),
                    .apply(NetpolYAML.documents(
                        NetpolYAML.policy("y", "allow-from-xa-on-ya-match-selector", spec: allowFromXASpec(target: "a")),
                        NetpolYAML.policy("y", "allow-from-xa-on-yb-match-selector", spec: allowFromXASpec(target: "b")))),
                    .probeTCPAndUDP(.table {
                        $0.expectPeer(from: Peer(namespace: "x", pod: "a"), to: Peer(), false)
                        $0.expectPeer(from: Peer(), to: Peer(namespace: "y", pod: "a"), false)
                        $0.expectPeer(from: Peer(namespace: "x", pod: "a"), to: Peer(namespace: "y", pod: "a"), true)
                        $0.expectPeer(from: Peer(), to: Peer(namespace: "y", pod: "b"), false)
                    }),
                ]),
            NetpolCase(
                id: "egress-to-pod-in-other-namespace",
                upstreamTitle:
                    "should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-to-ns-y-pod-a", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Egress]
                        egress:
                        - to:
                          - namespaceSelector:
                              matchLabels: {kubernetes.io/metadata.name: y}
                            podSelector:
                              matchLabels: {pod: a}
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectAllEgress(.xa, false)
                        $0.expect(from: .xa, to: .ya, true)
                    }),
                ]),
            NetpolCase(
                id: "default-namespace-label-match-labels",
                upstreamTitle: "should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-client-a-via-ns-selector-for-immutable-ns-label", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchLabels: {kubernetes.io/metadata.name: y}
                        """)),
                    .probeTCPAndUDP(.onlyNamespaceYReachesXA),
                ]),
            NetpolCase(
                id: "default-namespace-label-match-expressions",
                upstreamTitle: "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ns-y-match-selector-for-immutable-ns-label", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Egress]
                        egress:
                        - to:
                          - namespaceSelector:
                              matchExpressions:
                              - {key: kubernetes.io/metadata.name, operator: NotIn, values: [y]}
                        """)),
                    .probeTCPAndUDP(.table { $0.expectPeer(from: Peer(namespace: "x", pod: "a"), to: Peer(namespace: "y"), false) }),
                ]),
        ]
    }

    /// x/a admits only y/a (namespace and pod selector in one peer): shared by the TCP and UDP
    /// contexts' "pod in a different namespace" cases.
    static let allowYAFromNamespaceAndPod = NetpolYAML.policy("x", "allow-ns-y-pod-a-via-namespace-pod-selector", spec: """
        podSelector:
          matchLabels: {pod: a}
        policyTypes: [Ingress]
        ingress:
        - from:
          - namespaceSelector:
              matchLabels: {kubernetes.io/metadata.name: y}
            podSelector:
              matchLabels: {pod: a}
        """)

    /// The spec of a policy of namespace y admitting only x/a into pod `target`.
    static func allowFromXASpec(target: String) -> String {
        """
        podSelector:
          matchLabels: {pod: \(target)}
        policyTypes: [Ingress]
        ingress:
        - from:
          - namespaceSelector:
              matchLabels: {kubernetes.io/metadata.name: x}
            podSelector:
              matchLabels: {pod: a}
        """
    }
}

extension Reachability {
    /// x/a admits only x/b.
    static var onlyXBReachesXA: Reachability {
        .table {
            $0.expectAllIngress(.xa, false)
            $0.expect(from: .xb, to: .xa, true)
        }
    }

    /// x/a admits only y/a.
    static var onlyYAReachesXA: Reachability {
        .table {
            $0.expectAllIngress(.xa, false)
            $0.expect(from: .ya, to: .xa, true)
        }
    }

    /// x/a admits only the pods of namespace y.
    static var onlyNamespaceYReachesXA: Reachability {
        .table {
            $0.expectPeer(from: Peer(namespace: "x"), to: Peer(namespace: "x", pod: "a"), false)
            $0.expectPeer(from: Peer(namespace: "z"), to: Peer(namespace: "x", pod: "a"), false)
        }
    }
}
