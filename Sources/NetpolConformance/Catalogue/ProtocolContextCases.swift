/// Upstream's UDP context (its three cases) and the SCTP context's port case, plus the
/// catalogue's own `endPort` case. This machine cannot probe SCTP (no SCTP sockets): the SCTP
/// port case keeps upstream's policy and checks what it must mean for TCP and UDP (nothing
/// admitted on the rule's port); the other two SCTP cases are in ``NetpolCatalogue/omitted``.
extension NetpolCatalogue {
    static var protocolContextCases: [NetpolCase] {
        [
            NetpolCase(
                id: "udp-default-deny-ingress", upstreamTitle: "should support a 'default-deny-ingress' policy",
                upstreamContext: NetpolUpstreamContext.udp,
                steps: [
                    .apply(NetpolYAML.policy("x", "deny-all", spec: """
                        podSelector: {}
                        policyTypes: [Ingress]
                        """)),
                    .probeTCPAndUDP(.table { $0.expectPeer(from: Peer(), to: Peer(namespace: "x"), false) }),
                ]),
            NetpolCase(
                id: "udp-ports", upstreamTitle: "should enforce policy based on Ports", upstreamContext: NetpolUpstreamContext.udp,
                steps: [
                    .apply(allowNamespaceY(name: "allow-ingress-on-port-81-ns-x", port: 81, protocol: "UDP")),
                    .probe(.onlyNamespaceYReachesXA, port: 81, protocols: [.udp]),
                    // The rule names UDP: TCP 81 into x/a is not admitted.
                    .probe(.isolated(.xa), port: 81, protocols: [.tcp]),
                ]),
            NetpolCase(
                id: "udp-pod-in-other-namespace",
                upstreamTitle:
                    "should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector",
                upstreamContext: NetpolUpstreamContext.udp,
                steps: [.apply(allowYAFromNamespaceAndPod), .probeTCPAndUDP(.onlyYAReachesXA)]),
            NetpolCase(
                id: "sctp-ports", upstreamTitle: "should enforce policy based on Ports", upstreamContext: NetpolUpstreamContext.sctp,
                steps: [
                    .apply(allowNamespaceY(name: "allow-ingress-on-port-81-ns-x", port: 81, protocol: "SCTP")),
                    // Upstream probes SCTP 81 (namespace y admitted); here: TCP and UDP 81 stay closed.
                    .probe(port: 81, protocols: [.tcp, .udp], .isolated(.xa)),
                ]),
        ]
    }

    /// Cases this catalogue adds: features no upstream e2e case probes.
    public static var supplementary: [NetpolCase] {
        [
            NetpolCase(
                id: "endport-ranges", upstreamTitle: "should allow ingress on port ranges given by endPort",
                upstreamContext: NetpolUpstreamContext.supplementary, isRepresentative: true,
                steps: [
                    .apply(NetpolYAML.policy("x", "allow-port-ranges", spec: """
                        podSelector:
                          matchLabels: {pod: a}
                        policyTypes: [Ingress]
                        ingress:
                        - ports:
                          - protocol: TCP
                            port: 81
                            endPort: 90
                          - protocol: UDP
                            port: 70
                            endPort: 80
                        """)),
                    .probe(.table(), port: 81, protocols: [.tcp]),
                    .probe(.isolated(.xa), port: 80, protocols: [.tcp]),
                    .probe(.table(), port: 80, protocols: [.udp]),
                    .probe(.isolated(.xa), port: 81, protocols: [.udp]),
                ]),
        ]
    }

    /// x/a admits namespace y on `port`/`protocol`.
    static func allowNamespaceY(name: String, port: Int, protocol transport: String) -> String {
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
                protocol: \(transport)
            """)
    }
}
