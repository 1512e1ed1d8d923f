import PolicyTestFixtures
import NetPrimitives
import Testing
@testable import Policy

@Suite struct ProgramTests {
    static let policies = try! PolicySet(parsing: """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: a, namespace: x}
        spec:
          podSelector: {matchLabels: {pod: a}}
          ingress:
          - from: [{namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}]
            ports: [{port: serve-81-tcp}, {port: 80}, {protocol: UDP}]
          egress:
          - to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24, 10.0.3.3/32]}}]
        ---
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: g}
        spec:
          order: 10
          ingress:
          - {action: Deny, protocol: TCP, source: {notNets: [10.0.0.0/8]}, destination: {ports: [22]}}
        """)

    @Test func structureOfTheProgram() throws {
        let program = PolicyProgram(compiling: Self.policies, cluster: ClusterFixture.cluster)
        #expect(program.policies.map(\.policy.name) == ["g", "a"])
        #expect(program.endpoints.count == 9)
        let xa = try #require(program.endpoints.first { $0.id == EndpointID(namespace: "x", name: "a") })
        let chains = program.policies.map(\.chainName)
        #expect(xa.ingress == [CompiledTier(name: "default", policies: chains)])
        #expect(xa.egress == [CompiledTier(name: "default", policies: [chains[1]])])
        #expect(xa.nodeAddresses == [ClusterFixture.nodeAddress])
        let yb = try #require(program.endpoints.first { $0.id == EndpointID(namespace: "y", name: "b") })
        #expect(yb.ingress.map(\.policies) == [[chains[0]]] && yb.egress.isEmpty)

        let kubernetes = program.policies[1]
        // Pods set per family × (TCP 80, TCP named, UDP any).
        #expect(kubernetes.ingress.count == 6)
        let namedRule = try #require(kubernetes.ingress.first { $0.destinationNamedPorts != nil && $0.family == .v4 })
        let namedSet = try #require(program.namedPortSet(named: namedRule.destinationNamedPorts!))
        #expect(namedSet.elements == [NamedPortElement(address: ClusterFixture.address("x", "a"), protocol: .tcp, port: 81)])
        let peers = try #require(program.addressSet(named: { if case let .inSet(name) = namedRule.source { return name }; return "" }()))
        #expect(peers.elements.map(\.description) == ["10.0.1.2", "10.0.2.2", "10.0.3.2"])

        let egress = try #require(kubernetes.egress.first)
        #expect(kubernetes.egress.count == 1 && egress.family == .v4)
        guard case let .inSet(blockName)? = egress.destination else { Issue.record("no block set"); return }
        #expect(program.addressSet(named: blockName)?.elements.map(\.description)
            == ["10.0.0.0/23", "10.0.3.0-10.0.3.2", "10.0.3.4-10.0.255.255"])

        let deny = try #require(program.policies[0].ingress.first)
        #expect(deny.action == .deny && deny.destinationPorts == [PortRange(port: 22)])
        guard case let .notInSet(outside)? = deny.source else { Issue.record("expected notInSet"); return }
        #expect(program.addressSet(named: outside)?.elements.map(\.description) == ["10.0.0.0/8"])
        #expect(deny.description.hasPrefix("meta l4proto tcp ip saddr != @a"))
    }

    @Test func labelChangeOnlyChangesSetElements() throws {
        let before = PolicyProgram(compiling: Self.policies, cluster: ClusterFixture.cluster)
        var cluster = ClusterFixture.cluster
        var pod = cluster[EndpointID(namespace: "z", name: "c")]!
        pod.labels["pod"] = "b"
        try cluster.insert(pod)
        try cluster.insert(Endpoint(namespace: "y", name: "new", addresses: ["10.0.2.9", "fd00::9"], labels: ["pod": "b"],
                                    namespaceLabels: ["ns": "y"], node: "n1"))
        let after = PolicyProgram(compiling: Self.policies, cluster: cluster)
        #expect(after.policies == before.policies)
        #expect(after.addressSets.map(\.name) == before.addressSets.map(\.name))
        #expect(after.namedPortSets.map(\.name) == before.namedPortSets.map(\.name))
        #expect(after.addressSets != before.addressSets)
        let changed = zip(before.addressSets, after.addressSets).filter { $0 != $1 }.map(\.1)
        #expect(changed.map { $0.elements.map(\.description) }.sorted { $0.count < $1.count }
            == [["fd00::9"], ["10.0.1.2", "10.0.2.2", "10.0.2.9", "10.0.3.2", "10.0.3.3"]])
        try expectProgramAgrees(Self.policies, cluster: cluster, ports: [22, 80, 81], protocols: [.tcp, .udp])
    }

    @Test func perNodeProgramHasOnlyThatNodesEndpoints() throws {
        var cluster = ClusterFixture.cluster
        var remote = cluster[EndpointID(namespace: "y", name: "a")]!
        remote.node = "n2"
        try cluster.insert(remote)
        let program = PolicyProgram(compiling: Self.policies, cluster: cluster, node: "n2")
        #expect(program.endpoints.map(\.id) == [remote.id])
        #expect(program.endpoints[0].nodeAddresses.isEmpty)
        #expect(program.addressSets == PolicyProgram(compiling: Self.policies, cluster: cluster).addressSets)
    }

    @Test func setNamesAreStableAndShort() {
        #expect(stableIdentifier("policy|x") == stableIdentifier("policy|x"))
        #expect(stableIdentifier("policy|x").count == 12)
        let program = PolicyProgram(compiling: Self.policies, cluster: ClusterFixture.cluster)
        for name in program.addressSets.map(\.name) + program.namedPortSets.map(\.name) + program.policies.map(\.chainName) {
            #expect(name.count <= 14 && name.allSatisfy { $0.isLetter || $0.isNumber })
        }
    }

    @Test func addressRangesSubtractAndMerge() throws {
        let ranges = AddressRange.ranges(of: ["10.0.0.0/24", "10.0.1.0/24", "fd00::/64"], excluding: ["10.0.0.128/25"], family: .v4)
        #expect(ranges.map(\.description) == ["10.0.0.0/25", "10.0.1.0/24"])
        #expect(AddressRange.ranges(of: ["0.0.0.0/0"], excluding: [], family: .v4).map(\.description) == ["0.0.0.0/0"])
        #expect(AddressRange.ranges(of: ["::/0"], excluding: ["::/1"], family: .v6).map(\.description) == ["8000::/1"])
        #expect(AddressRange.ranges(of: ["10.0.0.0/8"], excluding: ["10.0.0.0/8"], family: .v4).isEmpty)
    }
}
