/// Upstream cases about isolation itself: default deny of ingress, egress or both, allow-all,
/// and how isolating policies combine. None of their policies names a port or protocol, so
/// every probe runs over TCP and UDP with the same table.
extension NetpolCatalogue {
    static var isolationCases: [NetpolCase] {
        [
            NetpolCase(
                id: "default-deny-ingress", upstreamTitle: "should support a 'default-deny-ingress' policy", isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-ingress", spec: """
                        podSelector: {}
                        policyTypes: [Ingress]
                        """)),
                    .probeTCPAndUDP(.table { $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false) }),
                ]),
            NetpolCase(
                id: "default-deny-all", upstreamTitle: "should support a 'default-deny-all' policy",
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-all", spec: """
                        podSelector: {}
                        policyTypes: [Ingress, Egress]
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false)
                        $0.expectPeer(from: Peer(namespace: "x"), to: Peer(), false)
                    }),
                ]),
            NetpolCase(
                id: "allow-ingress-for-target", upstreamTitle: "should enforce policy to allow ingress traffic for a target",
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-all", spec: """
                        podSelector: {}
                        policyTypes: [Ingress]
                        """)),
                    .apply(NetpolYAML.policy("x", "allow-all-to-a", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - podSelector: {}
                            namespaceSelector: {}
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectAllIngress(.xa, true)
                        $0.expectAllIngress(.xb, false)
                        $0.expectAllIngress(.xc, false)
                    }),
                ]),
            NetpolCase(
                id: "allow-ingress-from-all-namespaces",
                upstreamTitle: "should enforce policy to allow ingress traffic from pods in all namespaces",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-from-another-ns", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchLabels: {}
                        """)),
                    .probeTCPAndUDP(.table()),
                ]),
            NetpolCase(
                id: "allow-all", upstreamTitle: "should support allow-all policy",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-all", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Ingress]
                        ingress:
                        - {}
                        """)),
                    .probeTCPAndUDP(.table(), port: 80),
                    .probeTCPAndUDP(.table(), port: 81),
                ]),
            NetpolCase(
                id: "deny-ingress-from-other-namespaces", upstreamTitle: "should deny ingress from pods on other namespaces",
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-empty-policy", spec: """
                        podSelector: {}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - podSelector:
                              matchLabels: {}
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectPeer(from: Peer(namespace: "y"), to: Peer(namespace: "x"), false)
                        $0.expectPeer(from: Peer(namespace: "z"), to: Peer(namespace: "x"), false)
                    }),
                ]),
            NetpolCase(
                id: "deny-egress-by-pod-selector", upstreamTitle: "should deny egress from pods based on PodSelector",
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-egress-pod-a", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Egress]
                        """)),
                    .probeTCPAndUDP(.table { $0.expectAllEgress(.xa, false) }),
                ]),
            NetpolCase(
                id: "deny-egress-namespace", upstreamTitle: "should deny egress from all pods in a namespace", isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-egress-ns-x", spec: """
                        podSelector: {}
                        policyTypes: [Egress]
                        """)),
                    .probeTCPAndUDP(.table { $0.expectPeer(from: Peer(namespace: "x"), to: Peer(), false) }),
                ]),
            NetpolCase(
                id: "ingress-and-egress-independent",
                upstreamTitle:
                    "should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-egress-for-target", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Egress]
                        egress:
                        - {}
                        """)),
                    .probeTCPAndUDP(.table()),
                    .apply(NetpolYAML.policy("x", "deny-ingress-via-label-selector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        """)),
                    .probeTCPAndUDP(.table { $0.expectAllIngress(.xa, false) }),
                ]),
        ]
    }
}
