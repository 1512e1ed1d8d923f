import PolicyTestFixtures
import Testing
@testable import Policy

/// The upstream netpol e2e scenarios (kubernetes test/e2e/network/netpol), with the expected
/// reachability written by hand as predicates over (from, to) pod names.
@Suite struct KubernetesScenarioTests {
    func policies(_ yaml: String) throws -> PolicySet { try PolicySet(parsing: yaml) }

    func header(_ name: String, _ namespace: String = "x") -> String {
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: \(name), namespace: \(namespace)}
        """
    }

    @Test func noPoliciesAllowEverything() throws {
        try expectReachability(PolicySet()) { _, _ in true }
    }

    @Test func denyAllIngress() throws {
        let set = try policies(header("deny-all") + "\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n")
        try expectReachability(set) { _, to in namespace(of: to) != "x" }
    }

    @Test func denyAllIngressByDefaultPolicyTypes() throws {
        let set = try policies(header("deny-all") + "\nspec:\n  podSelector: {}\n")
        #expect(set.networkPolicies[0].policyTypes == [.ingress])
        try expectReachability(set) { _, to in namespace(of: to) != "x" }
    }

    @Test func allowAllIngressWithEmptyRule() throws {
        let set = try policies(header("allow-all") + "\nspec:\n  podSelector: {}\n  ingress: [{}]\n")
        try expectReachability(set) { _, _ in true }
    }

    @Test func denyAllEgress() throws {
        let set = try policies(header("deny-egress") + "\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n")
        try expectReachability(set) { from, _ in namespace(of: from) != "x" }
    }

    @Test func denyAllBothDirections() throws {
        let set = try policies(header("deny-both") + "\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")
        try expectReachability(set) { from, to in namespace(of: from) != "x" && namespace(of: to) != "x" }
    }

    @Test func allowFromSameNamespace() throws {
        let set = try policies(header("same-ns") + """

        spec:
          podSelector: {}
          ingress:
          - from:
            - podSelector: {}
        """)
        try expectReachability(set) { from, to in namespace(of: to) != "x" || namespace(of: from) == "x" }
    }

    @Test func allowFromNamespaceByLabel() throws {
        let set = try policies(header("from-y") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector:
                matchExpressions: [{key: ns, operator: In, values: [y]}]
        """)
        try expectReachability(set) { from, to in to != "x/a" || namespace(of: from) == "y" }
    }

    @Test func podAndNamespaceSelectorAreAnded() throws {
        let set = try policies(header("and") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {ns: y}}
              podSelector: {matchLabels: {pod: b}}
        """)
        try expectReachability(set) { from, to in to != "x/a" || from == "y/b" }
    }

    @Test func separatePeersAreOred() throws {
        let set = try policies(header("or") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {ns: y}}
            - podSelector: {matchLabels: {pod: b}}
        """)
        try expectReachability(set) { from, to in to != "x/a" || namespace(of: from) == "y" || from == "x/b" }
    }

    @Test func notInAndDoesNotExistExpressions() throws {
        let set = try policies(header("notin") + """

        spec:
          podSelector: {}
          ingress:
          - from:
            - namespaceSelector:
                matchExpressions: [{key: ns, operator: NotIn, values: [y]}]
              podSelector:
                matchExpressions: [{key: pod, operator: NotIn, values: [c]}, {key: tier, operator: DoesNotExist}]
        """)
        try expectReachability(set) { from, to in
            namespace(of: to) != "x" || (namespace(of: from) != "y" && podName(of: from) != "c")
        }
    }

    @Test func existsExpressionAndNamespaceNameLabel() throws {
        let set = try policies(header("exists") + """

        spec:
          podSelector: {matchExpressions: [{key: pod, operator: Exists}]}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: z}}
        """)
        try expectReachability(set) { from, to in namespace(of: to) != "x" || namespace(of: from) == "z" }
    }

    @Test func egressIPBlockWithExcept() throws {
        let set = try policies(header("ipblock") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          egress:
          - to:
            - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24, 10.0.3.3/32]}
        """)
        try expectReachability(set) { from, to in from != "x/a" || !(namespace(of: to) == "y" || to == "z/c") }
        let evaluator = PolicyEvaluator(policies: set, cluster: ClusterFixture.cluster)
        #expect(try !evaluator.isAllowed(Packet(from: .pod("x", "a"), to: .address(ClusterFixture.external), port: 80)))
    }

    @Test func ingressIPBlockFromOutside() throws {
        let set = try policies(header("from-outside") + """

        spec:
          podSelector: {}
          ingress:
          - from:
            - ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}
        """)
        try expectReachability(set) { _, to in namespace(of: to) != "x" }
        let evaluator = PolicyEvaluator(policies: set, cluster: ClusterFixture.cluster)
        #expect(try evaluator.isAllowed(Packet(from: .address("203.0.113.9"), to: .pod("x", "b"), port: 80)))
        #expect(try !evaluator.isAllowed(Packet(from: .address("203.0.113.200"), to: .pod("x", "b"), port: 80)))
    }

    @Test(arguments: [(UInt16(80), false), (81, true), (82, false)])
    func namedPortOnIngress(port: UInt16, allowed: Bool) throws {
        let set = try policies(header("named") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - ports: [{port: serve-81-tcp}]
        """)
        try expectReachability(set, port: port) { _, to in to != "x/a" || allowed }
        // The name resolves to a TCP port: UDP 81 to x/a stays denied.
        try expectReachability(set, port: 81, protocol: .udp) { _, to in to != "x/a" }
    }

    @Test(arguments: [(UInt16(80), true), (81, false)])
    func namedPortOnEgressResolvesAgainstDestination(port: UInt16, allowed: Bool) throws {
        let set = try policies(header("named-egress") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          egress:
          - to: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]
            ports: [{port: serve-80-tcp, protocol: TCP}]
        """)
        try expectReachability(set, port: port) { from, to in from != "x/a" || (podName(of: to) == "b" && allowed) }
    }

    @Test(arguments: [(UInt16(79), false), (80, true), (81, true), (82, false)])
    func endPortRange(port: UInt16, inRange: Bool) throws {
        let set = try policies(header("range") + """

        spec:
          podSelector: {}
          ingress:
          - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
            ports: [{protocol: TCP, port: 80, endPort: 81}]
        """)
        try expectReachability(set, port: port) { from, to in namespace(of: to) != "x" || (namespace(of: from) == "y" && inRange) }
    }

    @Test func egressToDNSOnly() throws {
        let set = try policies(header("dns-only") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          egress:
          - ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
        """)
        try expectReachability(set) { from, _ in from != "x/a" }
        try expectReachability(set, port: 53, protocol: .udp) { _, _ in true }
        try expectReachability(set, port: 53, protocol: .tcp) { _, _ in true }
    }

    @Test func policyTypesEgressOnlyIgnoresIngressRules() throws {
        let set = try policies(header("egress-only") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Egress]
          ingress:
          - from: [{podSelector: {matchLabels: {pod: b}}}]
          egress:
          - to: [{namespaceSelector: {matchLabels: {ns: y}}}]
        """)
        try expectReachability(set) { from, to in from != "x/a" || namespace(of: to) == "y" }
    }

    @Test func egressRulesWithoutPolicyTypesAlsoIsolateIngress() throws {
        let set = try policies(header("implicit") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          egress:
          - to: [{namespaceSelector: {matchLabels: {ns: y}}}]
        """)
        #expect(set.networkPolicies[0].policyTypes == [.ingress, .egress])
        try expectReachability(set) { from, to in
            (from != "x/a" || namespace(of: to) == "y") && to != "x/a"
        }
    }

    @Test func multiplePoliciesUnion() throws {
        let set = try policies(header("from-y") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]
        ---

        """ + header("from-zc") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}, podSelector: {matchLabels: {pod: c}}}]}]
        """)
        try expectReachability(set) { from, to in to != "x/a" || namespace(of: from) == "y" || from == "z/c" }
    }

    @Test(arguments: [(TransportProtocol.sctp, UInt16(80), true), (.sctp, 81, false), (.tcp, 80, false), (.udp, 80, false)])
    func sctpPolicy(transport: TransportProtocol, port: UInt16, allowed: Bool) throws {
        let set = try policies(header("sctp") + """

        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - ports: [{protocol: SCTP, port: 80}]
        """)
        #expect(set.networkPolicies[0].ingress[0].ports[0].protocol == .sctp)
        try expectReachability(set, port: port, protocol: transport) { _, to in to != "x/a" || allowed }
    }

    @Test func sctpNamedPort() throws {
        let set = try policies(header("sctp-named") + """

        spec:
          podSelector: {}
          ingress:
          - ports: [{protocol: SCTP, port: serve-81-sctp}]
        """)
        try expectReachability(set, port: 81, protocol: .sctp) { _, _ in true }
        try expectReachability(set, port: 80, protocol: .sctp) { _, to in namespace(of: to) != "x" }
    }

    @Test func protocolOnlyPortEntryAllowsAllPortsOfThatProtocol() throws {
        let set = try policies(header("udp-any") + "\nspec:\n  podSelector: {}\n  ingress: [{ports: [{protocol: UDP}]}]\n")
        try expectReachability(set, port: 81, protocol: .udp) { _, _ in true }
        try expectReachability(set, port: 81, protocol: .tcp) { _, to in namespace(of: to) != "x" }
    }
}
