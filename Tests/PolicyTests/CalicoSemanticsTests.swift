import PolicyTestFixtures
import Testing
@testable import Policy

/// Calico ordering, actions and tiers, with Kubernetes policies at order 1000 in the default
/// tier; expectations written by hand.
@Suite struct CalicoSemanticsTests {
    static let denyAllX = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny-all, namespace: x}
        spec: {podSelector: {}}

        """

    @Test func lowerOrderDenyBeatsKubernetesAllow() throws {
        let set = try PolicySet(parsing: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: allow-all, namespace: x}
            spec: {podSelector: {}, ingress: [{}]}
            ---
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: deny-y}
            spec:
              order: 100
              selector: "projectcalico.org/namespace == 'x'"
              ingress:
              - action: Deny
                source: {namespaceSelector: "ns == 'y'"}
            """)
        try expectReachability(set) { from, to in !(namespace(of: to) == "x" && namespace(of: from) == "y") }
        let explanation = try PolicyEvaluator(policies: set, cluster: ClusterFixture.cluster)
            .explain(Packet(from: .pod("y", "a"), to: .pod("x", "b"), port: 80))
        #expect(explanation.decidingRule == RuleReference(
            policy: PolicyReference(kind: .calicoGlobal, namespace: nil, name: "deny-y"), direction: .ingress, index: 0))
    }

    @Test func laterCalicoPoliciesStillApplyAfterKubernetesPolicies() throws {
        let set = try PolicySet(parsing: """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: from-y, namespace: x}
            spec:
              podSelector: {}
              ingress: [{from: [{namespaceSelector: {matchLabels: {ns: y}}}]}]
            ---
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: late}
            spec:
              order: 2000
              ingress:
              - {action: Deny, source: {namespaceSelector: "ns == 'y'"}}
              - {action: Allow}
            """)
        try expectReachability(set) { from, to in namespace(of: to) == "x" || namespace(of: from) != "y" }
    }

    @Test func passSkipsToTheNextTierAndLogContinues() throws {
        let set = try PolicySet(parsing: """
            apiVersion: projectcalico.org/v3
            kind: Tier
            metadata: {name: security}
            spec: {order: 100}
            ---
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: security.gate}
            spec:
              tier: security
              order: 1
              ingress:
              - {action: Log, source: {namespaceSelector: "ns == 'z'"}}
              - {action: Pass, source: {namespaceSelector: "ns == 'z'"}}
              - {action: Deny, source: {namespaceSelector: "ns == 'y'"}}
              - {action: Allow}
            ---

            """ + Self.denyAllX)
        try expectReachability(set) { from, to in
            switch namespace(of: from) {
            case "y": false
            case "z": namespace(of: to) != "x"   // passed: x's Kubernetes deny-all applies, y/z have none
            default: true                        // allowed in the security tier
            }
        }
        let explanation = try PolicyEvaluator(policies: set, cluster: ClusterFixture.cluster)
            .explain(Packet(from: .pod("z", "a"), to: .pod("y", "a"), port: 80))
        let gate = PolicyReference(kind: .calicoGlobal, namespace: nil, name: "security.gate")
        #expect(explanation.isAllowed)
        #expect(explanation.ingress?.reason == .passedToProfile(RuleReference(policy: gate, direction: .ingress, index: 1)))
        #expect(explanation.ingress?.logged == [RuleReference(policy: gate, direction: .ingress, index: 0)])
    }

    @Test func tiersWithoutOrderComeBeforeDefaultOnlyWhenOrdered() throws {
        var set = PolicySet(networkPolicies: [NetworkPolicy(name: "deny", namespace: "x")])
        set.calicoPolicies = [CalicoPolicy(name: "a", scope: .global, tier: "unordered",
                                           ingress: [CalicoRule(action: .allow)])]
        // A tier without a Tier document sorts after default (order infinity): the deny wins.
        try expectReachability(set) { _, to in namespace(of: to) != "x" }
        set.tiers = [CalicoTier(name: "unordered", order: 5)]
        try expectReachability(set) { _, _ in true }
    }

    @Test func namespacedPolicyScopesSelectors() throws {
        let set = try PolicySet(parsing: """
            apiVersion: projectcalico.org/v3
            kind: NetworkPolicy
            metadata: {name: only-b, namespace: x}
            spec:
              selector: pod == 'a'
              ingress:
              - {action: Allow, source: {selector: "pod == 'b'"}}
            """)
        #expect(set.calicoPolicies[0].types == [.ingress])
        try expectReachability(set) { from, to in to != "x/a" || from == "x/b" }
    }

    @Test(arguments: [(UInt16(80), "z"), (81, "y"), (82, "y"), (83, "")])
    func portsNetsAndNamedPorts(port: UInt16, deniedUnlessFrom: String) throws {
        let set = try PolicySet(parsing: """
            apiVersion: projectcalico.org/v3
            kind: NetworkPolicy
            metadata: {name: ports, namespace: x}
            spec:
              order: 10
              selector: pod == 'a'
              ingress:
              - action: Allow
                protocol: TCP
                source: {nets: [10.0.2.0/24]}
                destination: {ports: ["81:82"]}
              - action: Allow
                protocol: TCP
                source: {notNets: [10.0.3.0/24]}
                destination: {ports: [serve-80-tcp]}
            """)
        try expectReachability(set, port: port) { from, to in
            guard to == "x/a" else { return true }
            if port == 80 { return namespace(of: from) != "z" }
            return namespace(of: from) == deniedUnlessFrom
        }
    }

    @Test func egressDenyToNamespaceThenAllow() throws {
        let set = try PolicySet(parsing: """
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: no-z}
            spec:
              selector: pod == 'a'
              types: [Egress]
              egress:
              - {action: Deny, destination: {selector: has(pod), namespaceSelector: ns == 'z'}}
              - {action: Allow}
            """)
        try expectReachability(set) { from, to in podName(of: from) != "a" || namespace(of: to) != "z" }
    }

    @Test func globalPolicyNamespaceSelectorAndUnorderedPoliciesLast() throws {
        let set = try PolicySet(parsing: """
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: a-unordered-allow}
            spec:
              namespaceSelector: ns in {'y', 'z'}
              ingress: [{action: Allow}]
            ---
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: z-ordered-deny}
            spec:
              order: 5000
              namespaceSelector: ns == 'z'
              ingress: [{action: Deny, source: {selector: "pod == 'c'"}}]
            """)
        // z-ordered-deny (order 5000) runs before the unordered allow, despite its name.
        try expectReachability(set) { from, to in namespace(of: to) != "z" || podName(of: from) != "c" }
    }

    @Test func protocolAndIPVersionConditions() throws {
        let set = try PolicySet(parsing: """
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: udp-v4}
            spec:
              ingress: [{action: Allow, protocol: UDP, ipVersion: 4}, {action: Allow, protocol: 132}]
            """)
        try expectReachability(set, protocol: .udp) { _, _ in true }
        try expectReachability(set, protocol: .sctp) { _, _ in true }
        try expectReachability(set, protocol: .tcp) { _, _ in false }
    }
}
