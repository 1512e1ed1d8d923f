import Foundation
import NetpolConformance
import Policy
import Testing

/// The catalogue's shape: identifiers, titles, steps and policy texts.
struct CatalogueShapeTests {
    @Test func identifiersAreUniqueAndKebabCase() {
        let ids = NetpolCatalogue.all.map(\.id)
        #expect(Set(ids).count == ids.count, "duplicate ids: \(Dictionary(grouping: ids) { $0 }.filter { $0.value.count > 1 }.keys.sorted())")
        let kebab = /[a-z0-9]+(-[a-z0-9]+)*/
        for id in ids { #expect(id.wholeMatch(of: kebab) != nil, "id \(id) is not kebab-case") }
    }

    @Test func everyCaseHasATitleAndAProbe() {
        #expect(NetpolCatalogue.cases.count >= 45)
        for netpolCase in NetpolCatalogue.all {
            #expect(!netpolCase.upstreamTitle.isEmpty && !netpolCase.upstreamContext.isEmpty, "\(netpolCase.id)")
            let probes = netpolCase.steps.filter { if case .probe = $0 { true } else { false } }
            #expect(!probes.isEmpty, "\(netpolCase.id) has no probe step")
            if case .probe = netpolCase.steps.first { Issue.record("\(netpolCase.id) probes before changing anything") }
        }
    }

    @Test func upstreamTitlesAreUniqueWithinTheirContext() {
        let keys = NetpolCatalogue.all.map { "\($0.upstreamContext) \($0.upstreamTitle)" }
        #expect(Set(keys).count == keys.count)
        let omitted = Set(NetpolCatalogue.omitted.map(\.title))
        #expect(omitted.isDisjoint(with: keys))
        for entry in NetpolCatalogue.omitted { #expect(!entry.reason.isEmpty) }
    }

    @Test func probesUseServedPortsAndBothProtocolsAppear() {
        var protocols: Set<NetpolProtocol> = []
        for netpolCase in NetpolCatalogue.all {
            for case let .probe(port, probed, _) in netpolCase.steps {
                #expect(NetpolModel.ports.contains(port), "\(netpolCase.id) probes port \(port)")
                #expect(!probed.isEmpty && Set(probed).count == probed.count, "\(netpolCase.id)")
                protocols.formUnion(probed)
            }
        }
        #expect(protocols == [.tcp, .udp])
    }

    /// Every applied text is NetworkPolicy YAML the Policy library parses, for namespaces of
    /// the model only.
    @Test func everyAppliedTextParses() throws {
        for netpolCase in NetpolCatalogue.all {
            for case let .apply(text) in netpolCase.steps {
                let yaml = text(CatalogueReplay.environment)
                let set: PolicySet
                do { set = try PolicySet(parsing: yaml) } catch {
                    Issue.record("\(netpolCase.id): \(error)\n\(yaml)")
                    continue
                }
                #expect(!set.networkPolicies.isEmpty && set.calicoPolicies.isEmpty && set.tiers.isEmpty, "\(netpolCase.id)")
                for policy in set.networkPolicies {
                    #expect(NetpolModel.namespaces.contains(policy.namespace), "\(netpolCase.id): \(policy.namespace)/\(policy.name)")
                }
            }
        }
    }

    @Test func theRepresentativeSubsetCoversTheThemes() {
        let ids = Set(NetpolCatalogue.representative.map(\.id))
        #expect((10...14).contains(ids.count))
        for id in [
            "default-deny-ingress", "deny-egress-namespace", "namespace-selector",
            "pod-or-namespace-selector", "pod-and-namespace-selector", "named-port-ingress", "endport-ranges",
            "egress-to-cidr-except", "update-policy", "delete-policy", "relabel-pod-into-selector",
            "relabel-namespace-into-selector", "ingress-any-port-on-protocol",
        ] {
            #expect(ids.contains(id), "\(id) is not representative")
        }
        #expect(NetpolCatalogue.case(id: "ports")?.upstreamTitle == "should enforce policy based on Ports")
    }
}

/// Every case replayed on the Policy library's pure model: the evaluator and the compiled node
/// programs must agree with every truth table, pair by pair, on every probed port and protocol.
struct CatalogueReplayTests {
    @Test(arguments: NetpolCatalogue.all.map(\.id))
    func evaluatorAgreesWithTheTruthTables(id: String) throws {
        let netpolCase = try #require(NetpolCatalogue.case(id: id))
        let disagreements = try CatalogueReplay.replay(netpolCase)
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(4).map(\.description).joined(separator: "\n"))")
    }

    /// The replay can fail: a wrong table is reported pair by pair.
    @Test func aWrongTableIsReported() throws {
        let wrong = NetpolCase(
            id: "wrong", upstreamTitle: "a deny-all ingress policy expected to change nothing",
            steps: [
                .apply("""
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: deny, namespace: x}
                    spec: {podSelector: {}, policyTypes: [Ingress]}
                    """),
                .probe(Reachability(allConnected: true), port: 80, protocols: [.tcp, .udp]),
            ])
        let disagreements = try CatalogueReplay.replay(wrong)
        // 8 sources into each of x's 3 pods, over 2 protocols, by the evaluator and by the programs.
        #expect(disagreements.count == 96)
        #expect(Set(disagreements.map(\.decider)) == ["evaluator", "node programs"])
        #expect(disagreements.allSatisfy { $0.to.namespace == "x" && $0.expected })
    }

    /// The same for egress: a default deny of x's egress expected to change nothing.
    @Test func aWrongEgressTableIsReported() throws {
        let wrong = NetpolCase(
            id: "wrong", upstreamTitle: "a deny-all egress policy expected to change nothing",
            steps: [
                .apply("""
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: deny, namespace: x}
                    spec: {podSelector: {}, policyTypes: [Egress]}
                    """),
                .probe(Reachability(allConnected: true), port: 81, protocols: [.udp]),
            ])
        let disagreements = try CatalogueReplay.replay(wrong)
        #expect(disagreements.filter { $0.decider == "evaluator" }.count == 24)
        #expect(disagreements.filter { $0.decider == "node programs" }.count == 24)
        #expect(disagreements.allSatisfy { $0.from.namespace == "x" && $0.transport == .udp && $0.port == 81 })
    }

    @Test func deletingAnUnknownPolicyIsAMistake() {
        let wrong = NetpolCase(id: "wrong", upstreamTitle: "t", steps: [.delete(namespace: "x", name: "nothing"), .probe(Reachability(allConnected: true))])
        #expect(throws: CatalogueReplay.ReplayError.self) { try CatalogueReplay.replay(wrong) }
    }

    @Test func labelsAreMergedAndRemoved() throws {
        var model = CatalogueReplay()
        _ = try model.perform(.labelPod(NetpolPod("x", "b"), ["pod2": "updated"]), index: 0)
        _ = try model.perform(.labelNamespace("y", ["ns": nil, "ns2": "updated"]), index: 1)
        #expect(model.podLabels[NetpolPod("x", "b")] == ["pod": "b", "pod2": "updated"])
        #expect(model.namespaceLabels["y"] == ["kubernetes.io/metadata.name": "y", "ns2": "updated"])
    }
}
