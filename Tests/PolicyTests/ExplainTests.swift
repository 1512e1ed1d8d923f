import PolicyTestFixtures
import NetPrimitives
import Testing
@testable import Policy

@Suite struct ExplainTests {
    static let policies = try! PolicySet(parsing: """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web-from-y, namespace: x}
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Ingress, Egress]
          ingress:
          - from: [{podSelector: {matchLabels: {pod: c}}}]
          - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
            ports: [{port: 80}]
        """)

    var evaluator: PolicyEvaluator { PolicyEvaluator(policies: Self.policies, cluster: ClusterFixture.cluster) }
    let reference = PolicyReference(kind: .kubernetes, namespace: "x", name: "web-from-y")

    @Test func namesPolicyAndRuleIndex() throws {
        let explanation = try evaluator.explain(Packet(from: .pod("y", "b"), to: .pod("x", "a"), port: 80))
        #expect(explanation.isAllowed)
        #expect(explanation.ingress?.reason == .allowedByRule(RuleReference(policy: reference, direction: .ingress, index: 1)))
        #expect(explanation.egress?.reason == .notIsolated)
        #expect(explanation.decidingRule?.index == 1)
        #expect(explanation.description.contains("allowed by NetworkPolicy x/web-from-y ingress rule 1"))
    }

    @Test func defaultDenyNamesTheSelectingPolicies() throws {
        let explanation = try evaluator.explain(Packet(from: .pod("y", "b"), to: .pod("x", "a"), port: 81))
        #expect(!explanation.isAllowed)
        #expect(explanation.ingress?.reason == .noRuleMatched(tier: "default", policies: [reference]))
        #expect(explanation.description.contains("DENIED"))
    }

    @Test func egressIsolationWithoutRulesDeniesEverythingButReplies() throws {
        let outgoing = Packet(from: .pod("x", "a"), to: .pod("z", "b"), protocol: .udp, port: 53, sourcePort: 5353)
        #expect(try !evaluator.isAllowed(outgoing))
        // x/c may connect to x/a; the reply from x/a to x/c leaves x/a, whose egress is isolated.
        let connection = Packet(from: .pod("x", "c"), to: .pod("x", "a"), port: 8080, sourcePort: 40000)
        #expect(try evaluator.isAllowed(connection))
        let reply = connection.reversed
        #expect(reply.isReply && reply.destinationPort == 40000)
        let explanation = try evaluator.explain(reply)
        #expect(explanation.isAllowed)
        #expect(explanation.connection == connection)
        #expect(explanation.description.contains("reply of"))
        // A reply of a denied connection is denied.
        #expect(try !evaluator.isAllowed(Packet(from: .pod("z", "a"), to: .pod("x", "a"), port: 80, sourcePort: 1).reversed))
    }

    @Test func nodeMayAlwaysReachItsPods() throws {
        let fromNode = try evaluator.explain(Packet(from: .address(ClusterFixture.nodeAddress), to: .pod("x", "a"), port: 9999))
        #expect(fromNode.isAllowed)
        #expect(fromNode.ingress?.reason == .fromOwnNode("n1"))
        // Another node is just an outside address.
        #expect(try !evaluator.isAllowed(Packet(from: .address("192.168.0.2"), to: .pod("x", "a"), port: 9999)))
    }

    @Test func outsideAddressesAndAddressesOfPods() throws {
        #expect(try !evaluator.isAllowed(Packet(from: .address(ClusterFixture.external), to: .pod("x", "a"), port: 80)))
        #expect(try evaluator.isAllowed(Packet(from: .address(ClusterFixture.external), to: .pod("x", "b"), port: 80)))
        // A pod's address resolves to the pod.
        let byAddress = try evaluator.explain(Packet(from: .address(ClusterFixture.address("y", "c")), to: .address(ClusterFixture.address("x", "a")), port: 80))
        #expect(byAddress.isAllowed && byAddress.source.endpoint?.id == EndpointID(namespace: "y", name: "c"))
        // Egress of x/a is isolated: nothing leaves it, not even to the outside.
        let out = try evaluator.explain(Packet(from: .pod("x", "a"), to: .address(ClusterFixture.external), port: 443))
        #expect(!out.isAllowed && out.ingress == nil)
    }

    @Test func badPacketsAreErrors() throws {
        #expect(throws: PolicyError.self) { try evaluator.explain(Packet(from: .pod("q", "q"), to: .pod("x", "a"))) }
        #expect(throws: PolicyError.self) {
            try evaluator.explain(Packet(from: .address("2001:db8::1"), to: .pod("x", "a")))
        }
        #expect(throws: PolicyError.self) {
            try evaluator.explain(Packet(from: .address("2001:db8::1"), to: .address("10.0.0.1")))
        }
    }

    @Test func duplicateAddressesAreRejected() {
        let error = #expect(throws: PolicyError.self) {
            try ClusterState(endpoints: [Endpoint(namespace: "a", name: "1", addresses: ["10.1.1.1"]),
                                         Endpoint(namespace: "a", name: "2", addresses: ["10.1.1.1"])])
        }
        #expect(error?.code == .duplicate)
    }

    @Test func clusterUpdatesReplaceAndRemove() throws {
        var cluster = ClusterFixture.cluster
        var moved = cluster[EndpointID(namespace: "x", name: "a")]!
        moved.addresses = ["10.9.9.9"]
        try cluster.insert(moved)
        #expect(cluster.endpoint(owning: "10.9.9.9")?.name == "a")
        #expect(cluster.endpoint(owning: ClusterFixture.address("x", "a")) == nil)
        cluster.remove(moved.id)
        #expect(cluster[moved.id] == nil && cluster.endpoints.count == 8)
        #expect(cluster.endpoint(owning: ClusterFixture.address("z", "c"))?.id == EndpointID(namespace: "z", name: "c"))
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct ExplanationEncodingTests {
    @Test func encodesAsStableJSON() throws {
        let evaluator = PolicyEvaluator(policies: ExplainTests.policies, cluster: ClusterFixture.cluster)
        let explanation = try evaluator.explain(Packet(from: .pod("y", "b"), to: .pod("x", "a"), protocol: .sctp, port: 80))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(explanation), as: UTF8.self)
        #expect(json.contains(#""isAllowed":false"#))
        #expect(json.contains(#""packet":{"destination":"x\/a","destinationPort":80,"isReply":false,"protocol":"SCTP","source":"y\/b"}"#))
        #expect(json.contains(#""source":{"address":"10.0.2.2","endpoint":"y\/b"}"#))
        #expect(json.contains(#""reason":{"kind":"noRuleMatched","policies":[{"kind":"kubernetes","name":"web-from-y","namespace":"x"}]"#))
        let allowed = try evaluator.explain(Packet(from: .pod("y", "b"), to: .pod("x", "a"), port: 80))
        let allowedJSON = String(decoding: try encoder.encode(allowed), as: UTF8.self)
        #expect(allowedJSON.contains(#""rule":{"direction":"Ingress","index":1,"policy":{"kind":"kubernetes","name":"web-from-y","namespace":"x"}}"#))
    }
}
