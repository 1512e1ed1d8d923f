/// Upstream cases that change the cluster between probes: a policy updated in place, a policy
/// deleted, pods and namespaces relabelled into or out of a selector. The runner restores the
/// initial labels and removes every policy after each case. Their policies name no port or
/// protocol, so every probe runs over TCP and UDP with the same table.
extension NetpolCatalogue {
    static var lifecycleCases: [NetpolCase] {
        [
            NetpolCase(
                id: "update-policy", upstreamTitle: "should enforce updated policy", isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-all-mutate-to-deny-all", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Ingress]
                        ingress:
                        - {}
                        """)),
                    .probeTCPAndUDP(.table(), port: 81),
                    // The same policy with its ingress rules removed.
                    .apply(NetpolYAML.policy("x", "allow-all-mutate-to-deny-all", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Ingress]
                        ingress: []
                        """)),
                    .probeTCPAndUDP(.table { $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false) }, port: 81),
                ]),
            NetpolCase(
                id: "relabel-namespace-into-selector", upstreamTitle: "should allow ingress access from updated namespace",
                isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-client-a-via-ns-selector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - namespaceSelector:
                              matchLabels: {ns2: updated}
                        """)),
                    .probeTCPAndUDP(.isolated(.xa)),
                    .labelNamespace("y", ["ns2": "updated"]),
                    .probeTCPAndUDP(.table {
                        $0.expectAllIngress(.xa, false)
                        $0.expectPeer(from: Peer(namespace: "y"), to: Peer(), true)
                    }),
                ]),
            NetpolCase(
                id: "relabel-pod-into-selector", upstreamTitle: "should allow ingress access from updated pod", isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-client-a-via-pod-selector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - from:
                          - podSelector:
                              matchLabels: {pod: b, pod2: updated}
                        """)),
                    .probeTCPAndUDP(.isolated(.xa)),
                    .labelPod(.xb, ["pod": "b", "pod2": "updated"]),
                    .probeTCPAndUDP(.onlyXBReachesXA),
                ]),
            NetpolCase(
                id: "relabel-pod-into-isolation", upstreamTitle: "should deny ingress access to updated pod",
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-ingress-via-label-selector", spec: """
                        podSelector:
                          matchLabels: {target: isolated}
                        policyTypes: [Ingress]
                        """)),
                    .probeTCPAndUDP(.table()),
                    .labelPod(.xa, ["target": "isolated"]),
                    .probeTCPAndUDP(.isolated(.xa)),
                ]),
            NetpolCase(
                id: "delete-policy", upstreamTitle: "should stop enforcing policies after they are deleted", isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-all", spec: """
                        podSelector: {}
                        policyTypes: [Ingress, Egress]
                        """)),
                    .probeTCPAndUDP(.table {
                        $0.expectPeer(from: Peer(namespace: "x"), to: Peer(), false)
                        $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false)
                    }),
                    // Upstream deletes every policy of the test's namespaces: this one.
                    .delete(namespace: "x", name: "deny-all"),
                    .probeTCPAndUDP(.table()),
                ]),
        ]
    }
}
