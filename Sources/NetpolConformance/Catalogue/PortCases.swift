/// Upstream cases about ports and protocols: numeric and named ports, protocol-only rules,
/// stacked policies and SCTP rules that must not admit TCP. Upstream probes one protocol;
/// each case here also probes the other one (UDP for the TCP context), with the table that
/// Kubernetes semantics give: a port entry without `protocol` is TCP, a named port resolves
/// on the destination pod for the entry's protocol, and a pod selected for a direction admits
/// nothing its rules do not name.
extension NetpolCatalogue {
    static var portCases: [NetpolCase] {
        [
            NetpolCase(
                id: "ports", upstreamTitle: "should enforce policy based on Ports",
                steps: [
                    .apply(allowNamespaceYOnTCP(name: "allow-client-a-via-ns-selector", port: "81")),
                    .probe(.onlyNamespaceYReachesXA, port: 81, protocols: [.tcp]),
                    // The rule names TCP: UDP 81 into x/a is not admitted.
                    .probe(.isolated(.xa), port: 81, protocols: [.udp]),
                ]),
            NetpolCase(
                id: "stacked-policies", upstreamTitle: "should enforce multiple, stacked policies with overlapping podSelectors",
                steps: [
                    .apply(allowNamespaceYOnTCP(name: "allow-client-a-via-ns-selector", port: "81")),
                    .probe(.onlyNamespaceYReachesXA, port: 81, protocols: [.tcp]),
                    .probe(.isolated(.xa), port: 80, protocols: [.tcp]),
                    .apply(allowNamespaceYOnTCP(name: "allow-client-a-via-ns-selector-80", port: "80")),
                    .probe(.onlyNamespaceYReachesXA, port: 80, protocols: [.tcp]),
                    // Both policies name TCP only.
                    .probe(.isolated(.xa), port: 80, protocols: [.udp]),
                ]),
            NetpolCase(
                id: "named-port-ingress", upstreamTitle: "should allow ingress access on one named port", isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-all", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Ingress]
                        ingress:
                        - ports:
                          - port: serve-81-tcp
                        """)),
                    .probe(.table(), port: 81, protocols: [.tcp]),
                    .probe(.table { $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false) }, port: 80, protocols: [.tcp]),
                    // serve-81-tcp is a TCP port: UDP 81 into x is not admitted.
                    .probe(.table { $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false) }, port: 81, protocols: [.udp]),
                ]),
            NetpolCase(
                id: "named-port-ingress-from-namespace", upstreamTitle: "should allow ingress access from namespace on one named port",
                steps: [
                    .apply(allowNamespaceYOnTCP(name: "allow-client-a-via-ns-selector-80", port: "serve-80-tcp")),
                    .probe(.onlyNamespaceYReachesXA, port: 80, protocols: [.tcp]),
                    .probe(.isolated(.xa), port: 81, protocols: [.tcp]),
                    .probe(.isolated(.xa), port: 80, protocols: [.udp]),
                ]),
            NetpolCase(
                id: "named-port-egress", upstreamTitle: "should allow egress access on one named port",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-egress", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Egress]
                        egress:
                        - ports:
                          - port: serve-80-tcp
                        """)),
                    .probe(.table(), port: 80, protocols: [.tcp]),
                    .probe(.table { $0.expectPeer(from: Peer(namespace: "x"), to: Peer(), false) }, port: 81, protocols: [.tcp]),
                    // The named port is TCP: UDP 80 out of x is not admitted.
                    .probe(.table { $0.expectPeer(from: Peer(namespace: "x"), to: Peer(), false) }, port: 80, protocols: [.udp]),
                ]),
            NetpolCase(
                id: "ingress-and-egress-together", upstreamTitle: "should work with Ingress, Egress specified together",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-client-a-via-pod-selector", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Egress, Ingress]
                        ingress:
                        - from:
                          - podSelector:
                              matchLabels: {pod: b}
                        egress:
                        - ports:
                          - port: 80
                        """)),
                    .probe(.onlyXBReachesXA, port: 80, protocols: [.tcp]),
                    .probe(.onlyXBReachesXAAndXAReachesNothing, port: 81, protocols: [.tcp]),
                    // Ingress admits x/b on any protocol; egress admits TCP 80 only.
                    .probe(.onlyXBReachesXAAndXAReachesNothing, port: 80, protocols: [.udp]),
                ]),
            NetpolCase(
                id: "ingress-any-port-on-protocol",
                upstreamTitle: "should enforce ingress policy allowing any port traffic to a server on a specific protocol",
                isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ingress-by-proto", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - ports:
                          - protocol: TCP
                        """)),
                    .probe(.table(), port: 80, protocols: [.tcp]),
                    .probe(.isolated(.xa), port: 80, protocols: [.udp]),
                ]),
            NetpolCase(
                id: "ingress-allow-all-takes-precedence",
                upstreamTitle: "should enforce multiple ingress policies with ingress allow-all policy taking precedence",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-ingress-port-80", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Ingress]
                        ingress:
                        - ports:
                          - port: 80
                        """)),
                    .probe(port: 81, protocols: [.tcp, .udp], .table { $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false) }),
                    .apply(NetpolYAML.policy("x", "allow-ingress", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Ingress]
                        ingress:
                        - {}
                        """)),
                    .probe(port: 81, protocols: [.tcp, .udp], .table()),
                ]),
            NetpolCase(
                id: "egress-allow-all-takes-precedence",
                upstreamTitle: "should enforce multiple egress policies with egress allow-all policy taking precedence",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-egress-port-80", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Egress]
                        egress:
                        - ports:
                          - port: 80
                        """)),
                    .probe(port: 81, protocols: [.tcp, .udp], .table { $0.expectPeer(from: Peer(namespace: "x"), to: Peer(), false) }),
                    .apply(NetpolYAML.policy("x", "allow-egress", spec: """
                        podSelector:
                          matchLabels: {}
                        policyTypes: [Egress]
                        egress:
                        - {}
                        """)),
                    .probe(port: 81, protocols: [.tcp, .udp], .table()),
                ]),
            NetpolCase(
                id: "sctp-rule-is-not-tcp",
                upstreamTitle: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-ingress", spec: """
                        podSelector: {}
                        policyTypes: [Ingress]
                        """)),
                    .apply(NetpolYAML.policy("x", "allow-only-sctp-ingress-on-port-81", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - ports:
                          - port: 81
                            protocol: SCTP
                        """)),
                    .probe(port: 81, protocols: [.tcp, .udp], .table { $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false) }),
                ]),
            NetpolCase(
                id: "sctp-rule-isolates",
                upstreamTitle: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-only-sctp-ingress-on-port-80", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - ports:
                          - port: 80
                            protocol: SCTP
                        """)),
                    .probe(port: 81, protocols: [.tcp, .udp], .isolated(.xa)),
                    // Not upstream's probe, but the same guarantee on the rule's own port.
                    .probe(port: 80, protocols: [.tcp, .udp], .isolated(.xa)),
                ]),
            NetpolCase(
                id: "udp-rule-is-not-tcp", upstreamTitle: "should not allow access by TCP when a policy specifies only UDP",
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-only-udp-ingress-on-port-81", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - ports:
                          - port: 81
                            protocol: UDP
                        """)),
                    .probe(.isolated(.xa), port: 81, protocols: [.tcp]),
                    // The rule admits UDP 81 from everywhere.
                    .probe(.table(), port: 81, protocols: [.udp]),
                ]),
        ]
    }

    /// x/a admits namespace y on TCP `port` (a number or a port name).
    static func allowNamespaceYOnTCP(name: String, port: String) -> String {
        NetpolYAML.policy("x", name, spec: """
            podSelector:
              matchLabels: {pod: a}
            policyTypes: [Ingress]
            ingress:
            - from:
              - namespaceSelector:
                  matchLabels: {kubernetes.io/metadata.name: y}
              ports:
              - port: \(port)
                protocol: TCP
            """)
    }
}

extension Reachability {
    /// Nothing reaches `pod` (upstream's `ExpectAllIngress(pod, false)` on a connected table).
    static func isolated(_ pod: NetpolPod) -> Reachability {
        .table { $0.expectAllIngress(pod, false) }
    }

    /// x/a admits only x/b and reaches nothing.
    static var onlyXBReachesXAAndXAReachesNothing: Reachability {
        .table {
            $0.expectAllIngress(.xa, false)
            $0.expectAllEgress(.xa, false)
            $0.expect(from: .xb, to: .xa, true)
        }
    }
}
