import PolicyTestFixtures
import NetPrimitives
import Testing
@testable import Policy

/// More upstream netpol scenarios: overlapping policies, client-side egress deny, label updates
/// of pods and namespaces, policy deletion. Expectations written by hand.
@Suite struct KubernetesMoreScenarioTests {
    func policy(_ name: String, _ spec: String) -> String { policy(name, "x", spec) }

    func policy(_ name: String, _ namespace: String, _ spec: String) -> String {
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: \(name), namespace: \(namespace)}
        spec:
        \(spec)

        """
    }

    @Test func addressInBothCIDRAndExceptIsAllowedByAnotherPolicy() throws {
        let set = try PolicySet(parsing: policy("except", """
              podSelector: {matchLabels: {pod: a}}
              policyTypes: [Egress]
              egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.2/32]}}]}]
            """) + "---\n" + policy("allow-yb", """
              podSelector: {matchLabels: {pod: a}}
              policyTypes: [Egress]
              egress: [{to: [{ipBlock: {cidr: 10.0.2.2/32}}]}]
            """))
        try expectReachability(set) { _, _ in true }
    }

    @Test func clientSideEgressDenyWinsOverServerAllow() throws {
        let set = try PolicySet(parsing: policy("deny-egress", """
              podSelector: {matchLabels: {pod: a}}
              policyTypes: [Egress]
            """) + "---\n" + policy("allow-all", "y", """
              podSelector: {}
              ingress: [{}]
            """))
        try expectReachability(set) { from, _ in from != "x/a" }
    }

    @Test func egressAllowAllTakesPrecedenceOverNarrowerEgressPolicy() throws {
        let set = try PolicySet(parsing: policy("only-y", """
              podSelector: {}
              policyTypes: [Egress]
              egress: [{to: [{namespaceSelector: {matchLabels: {ns: y}}}]}]
            """) + "---\n" + policy("all", """
              podSelector: {matchLabels: {pod: a}}
              policyTypes: [Egress]
              egress: [{}]
            """))
        try expectReachability(set) { from, to in namespace(of: from) != "x" || from == "x/a" || namespace(of: to) == "y" }
    }

    @Test func ingressAndEgressControlledIndependently() throws {
        let set = try PolicySet(parsing: policy("both", """
              podSelector: {matchLabels: {pod: a}}
              policyTypes: [Ingress, Egress]
              ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
              egress: [{to: [{podSelector: {matchLabels: {pod: c}}}]}]
            """))
        try expectReachability(set) { from, to in
            (from != "x/a" || to == "x/c") && (to != "x/a" || from == "x/b")
        }
    }

    @Test func udpOnlyPolicyDoesNotAllowTCP() throws {
        let set = try PolicySet(parsing: policy("udp", """
              podSelector: {matchLabels: {pod: a}}
              ingress: [{ports: [{protocol: UDP, port: 81}]}]
            """))
        try expectReachability(set, port: 81, protocol: .udp) { _, _ in true }
        try expectReachability(set, port: 81, protocol: .tcp) { _, to in to != "x/a" }
    }

    @Test func updatedPodAndNamespaceLabelsChangeReachability() throws {
        let set = try PolicySet(parsing: policy("from-updated", """
              podSelector: {matchLabels: {pod: a}}
              ingress:
              - from: [{namespaceSelector: {matchLabels: {ns2: updated}}}]
              - from: [{podSelector: {matchLabels: {pod: b, pod2: updated}}}]
            """))
        var cluster = ClusterFixture.cluster
        try expectReachability(set, cluster: cluster) { _, to in to != "x/a" }
        // Namespace y gets the label (every pod of y sees the new namespace labels).
        var compiler = IncrementalCompiler(policies: set, cluster: cluster)
        for pod in cluster.endpoints where pod.namespace == "y" {
            var updated = pod
            updated.namespaceLabels["ns2"] = "updated"
            try cluster.insert(updated)
            #expect(try compiler.upsert(updated).isElementOnly)
        }
        // And x/b gets pod2=updated.
        var xb = cluster[EndpointID(namespace: "x", name: "b")]!
        xb.labels["pod2"] = "updated"
        try cluster.insert(xb)
        #expect(try compiler.upsert(xb).isElementOnly)
        #expect(compiler.program == PolicyProgram(compiling: set, cluster: cluster))
        try expectReachability(set, cluster: cluster) { from, to in to != "x/a" || namespace(of: from) == "y" || from == "x/b" }
        // The pod that loses its label is denied again.
        xb.labels["pod2"] = nil
        try cluster.insert(xb)
        try expectReachability(set, cluster: cluster) { from, to in to != "x/a" || namespace(of: from) == "y" }
    }

    @Test func deletedPolicyStopsBeingEnforced() throws {
        var set = try PolicySet(parsing: policy("deny", "  podSelector: {}"))
        try expectReachability(set) { _, to in namespace(of: to) != "x" }
        let before = PolicyProgram(compiling: set, cluster: ClusterFixture.cluster)
        set.networkPolicies.removeAll()
        try expectReachability(set) { _, _ in true }
        let changes = before.changes(to: PolicyProgram(compiling: set, cluster: ClusterFixture.cluster))
        #expect(changes.removedPolicies.map(\.policy.name) == ["deny"])
        #expect(changes.changedEndpoints.count == 3)
    }

    @Test func stackedPoliciesWithOverlappingSelectors() throws {
        let set = try PolicySet(parsing: policy("a-from-y", """
              podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}]}
              ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]
            """) + "---\n" + policy("b-from-z", """
              podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}
              ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}}]}]
            """))
        try expectReachability(set) { from, to in
            switch to {
            case "x/a": namespace(of: from) == "y"
            case "x/b": namespace(of: from) != "x"
            case "x/c": namespace(of: from) == "z"
            default: true
            }
        }
    }

    @Test func sctpAllowIsNotTreatedAsTCP() throws {
        let set = try PolicySet(parsing: policy("deny-ingress", "  podSelector: {}") + "---\n" + policy("sctp-81", """
              podSelector: {matchLabels: {pod: a}}
              ingress: [{ports: [{port: 81, protocol: SCTP}]}]
            """))
        try expectReachability(set, port: 81, protocol: .tcp) { _, to in namespace(of: to) != "x" }
        try expectReachability(set, port: 81, protocol: .sctp) { _, to in namespace(of: to) != "x" || to == "x/a" }
    }

    @Test func egressAllowedButIngressDeniedOnTheSamePod() throws {
        let set = try PolicySet(parsing: policy("allow-egress", """
              podSelector: {matchLabels: {pod: a}}
              policyTypes: [Egress]
              egress: [{}]
            """) + "---\n" + policy("deny-ingress", """
              podSelector: {matchLabels: {pod: a}}
            """))
        try expectReachability(set) { _, to in to != "x/a" }
        // x/a may open connections; the replies come back although x/a's ingress denies everything.
        let evaluator = PolicyEvaluator(policies: set, cluster: ClusterFixture.cluster)
        let connection = Packet(from: .pod("x", "a"), to: .pod("x", "b"), port: 80, sourcePort: 40001)
        #expect(try evaluator.isAllowed(connection) && evaluator.isAllowed(connection.reversed))
        #expect(try !evaluator.isAllowed(Packet(from: .pod("x", "b"), to: .pod("x", "a"), port: 40001)))
    }

    @Test func egressNamespaceSelectorNotInOnDefaultNamespaceLabel() throws {
        let set = try PolicySet(parsing: policy("not-y", """
              podSelector: {matchLabels: {pod: a}}
              egress:
              - to: [{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [y]}]}}]
            """))
        // Egress rules present and no policyTypes: Ingress is isolated too (no ingress rules).
        try expectReachability(set) { from, to in (from != "x/a" || namespace(of: to) != "y") && to != "x/a" }
    }
}
