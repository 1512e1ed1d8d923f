#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import Netlink
import Nftables
import NetPrimitives
import TestSupport
import Testing
@testable import Policy
@testable import PolicyEnforcement

/// The enforcer in real namespaces: one node, four pods on routed veths; real TCP and UDP
/// probes must match the evaluator's decision for every pair, pod to pod, node to pod and
/// pod to its node.
@Suite("Policy enforcer traffic", .serialized)
struct EnforcerTrafficTests {
    /// x/a (web, named ports), x/b (client), y/c (client), z/d (other).
    static func endpoints() -> [Endpoint] {
        let specs: [(String, String, [String: String])] = [
            ("x", "a", ["app": "web"]), ("x", "b", ["app": "client"]), ("y", "c", ["app": "client"]), ("z", "d", ["app": "other"]),
        ]
        return specs.enumerated().map { index, spec in
            Endpoint(
                namespace: spec.0, name: spec.1, addresses: [IPAddress(PodNetwork.address(index))!],
                interfaceName: try? InterfaceName(PodNetwork.interface(index)), labels: spec.2,
                namespaceLabels: ["team": spec.0],
                namedPorts: [NamedPort(name: "web", port: 80), NamedPort(name: "alt", port: 81),
                             NamedPort(name: "dns", port: 80, protocol: .udp)],
                node: "n1")
        }
    }

    static func cluster(_ endpoints: [Endpoint] = endpoints()) throws -> ClusterState {
        try ClusterState(endpoints: endpoints, nodes: [ClusterNode(name: "n1", addresses: [IPAddress(PodNetwork.nodeAddress)!])])
    }

    static func policy(_ name: String, namespace: String = "x", _ spec: String) -> String {
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: \(name), namespace: \(namespace)}
        spec:
        \(spec)
        ---

        """
    }

    static let scenarios: [(String, String)] = [
        ("deny-all", policy("deny-all", "  podSelector: {}\n  policyTypes: [Ingress]")),
        ("allow by label", policy("deny-all", "  podSelector: {}") + policy("web", """
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]
            """)),
        ("namespace selector", policy("web", """
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{namespaceSelector: {matchLabels: {team: y}}}]}]
            """)),
        ("ipBlock", policy("web", """
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{ipBlock: {cidr: 10.66.0.0/24, except: [10.66.0.14/32]}}], ports: [{port: 80, protocol: UDP}]}]
            """)),
        ("named port", policy("web", """
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{namespaceSelector: {}}], ports: [{port: web}, {port: dns, protocol: UDP}]}]
            """)),
        ("egress", policy("out", namespace: "y", """
              podSelector: {}
              policyTypes: [Egress]
              egress: [{to: [{namespaceSelector: {matchLabels: {team: x}}}], ports: [{port: 81}, {port: 80, protocol: UDP}]}]
            """)),
    ]

    static var probes: [Probe] {
        var probes: [Probe] = []
        for from in -1..<4 {
            for to in -1..<4 where to != from {
                for (transport, port) in [(TransportProtocol.tcp, UInt16(80)), (.tcp, 81), (.udp, 80)] {
                    probes.append(Probe(from: from, to: to, transport: transport, port: port))
                }
            }
        }
        return probes
    }

    static func packet(_ probe: Probe, endpoints: [Endpoint]) -> Packet {
        let source: PacketPeer = probe.from < 0 ? .address(IPAddress(PodNetwork.nodeAddress)!) : .endpoint(endpoints[probe.from].id)
        let destination: PacketPeer = probe.to < 0 ? .address(IPAddress(PodNetwork.nodeAddress)!) : .endpoint(endpoints[probe.to].id)
        return Packet(from: source, to: destination, protocol: probe.transport, port: probe.port)
    }

    /// Builds the pod network and an enforcer in the node namespace, runs `body`, cleans up.
    static func withNetwork(_ body: (PodNetwork, NftablesHandle) async throws -> Void) async throws {
        try await NamespaceFixture.with(count: 5) { namespaces in
            let network = try PodNetwork(node: namespaces[0], pods: Array(namespaces[1...]), endpoints: endpoints())
            defer { network.stop() }
            let handle = try await NftablesHandle.open(in: namespaces[0])
            try await body(network, handle)
        }
    }

    @Test("real TCP and UDP traffic matches the evaluator for each policy set", .privileged)
    func trafficMatchesEvaluator() async throws {
        try await Self.withNetwork { network, handle in
            let endpoints = network.endpoints
            let enforcer = PolicyEnforcer(handle: handle, policies: PolicySet(), cluster: try Self.cluster(), node: "n1")
            #expect(try enforcer.reconcile())
            // No policy: everything connects (also proves the topology works).
            let open = try network.run(Self.probes) { _ in true }
            #expect(open == Set(Self.probes), "unreachable without policy: \(Set(Self.probes).subtracting(open))")
            for (name, text) in Self.scenarios {
                let policies = try PolicySet(parsing: text)
                let update = try enforcer.update(policies: policies)
                #expect(update.kind != .unchanged)
                let evaluator = PolicyEvaluator(policies: policies, cluster: try Self.cluster())
                let expected = try Set(Self.probes.filter { try evaluator.isAllowed(Self.packet($0, endpoints: endpoints)) })
                #expect(expected != Set(Self.probes), "scenario \(name) denies nothing")
                if name == "egress" {
                    // y/c's egress policy also governs its own node (input hook, node-egress chain).
                    #expect(!expected.contains(Probe(from: 2, to: -1, transport: .tcp, port: 80)))
                    #expect(expected.contains(Probe(from: 1, to: -1, transport: .tcp, port: 80)))
                }
                let actual = try network.run(Self.probes) { expected.contains($0) }
                #expect(actual.subtracting(expected).isEmpty, "\(name): passed but denied: \(actual.subtracting(expected))")
                #expect(expected.subtracting(actual).isEmpty, "\(name): dropped but allowed: \(expected.subtracting(actual))")
            }
        }
    }

    @Test("a peer label change is applied as set elements and changes traffic", .privileged)
    func labelChangeUpdatesElements() async throws {
        try await Self.withNetwork { network, handle in
            let policies = try PolicySet(parsing: Self.scenarios[1].1)
            let enforcer = PolicyEnforcer(handle: handle, policies: policies, cluster: try Self.cluster(), node: "n1")
            try enforcer.reconcile()
            let probe = Probe(from: 3, to: 0, transport: .tcp, port: 80)
            #expect(try network.run([probe]) { _ in false }.isEmpty)
            // z/d is in another namespace: the policy's podSelector only admits namespace x.
            var xb = network.endpoints[1]
            xb.labels["app"] = "other"
            let update = try enforcer.upsert(xb)
            #expect(update.kind == .elements)
            #expect(try network.run([Probe(from: 1, to: 0, transport: .tcp, port: 80)]) { _ in false }.isEmpty)
            xb.labels["app"] = "client"
            #expect(try enforcer.upsert(xb).kind == .elements)
            #expect(try network.run([Probe(from: 1, to: 0, transport: .tcp, port: 80)]) { _ in true }.count == 1)
            #expect(try enforcer.desiredContents().isEquivalent(to: handle.contents(of: enforcer.lowering.table)))
            let explanation = try enforcer.explain(Packet(from: .pod("x", "b"), to: .pod("x", "a"), port: 80))
            #expect(explanation.isAllowed)
            #expect(explanation.decidingRule?.policy.name == "web")
            #expect("\(explanation)".contains("web"))
        }
    }

    @Test("a selected pod's label change rewrites only its own chains, in one transaction", .privileged)
    func selectedPodLabelChange() async throws {
        try await Self.withNetwork { network, handle in
            let policies = try PolicySet(parsing: Self.scenarios[1].1)
            let enforcer = PolicyEnforcer(handle: handle, policies: policies, cluster: try Self.cluster(), node: "n1")
            try enforcer.reconcile()
            let fromClient = Probe(from: 1, to: 0, transport: .tcp, port: 80)
            #expect(try network.run([fromClient]) { _ in true } == [fromClient])
            let policyRulesBefore = try handle.contents(of: enforcer.lowering.table).rules.filter { $0.chain.hasPrefix("p") }
            // x/a stops being "web": only deny-all selects it now.
            var xa = network.endpoints[0]
            xa.labels["app"] = "retired"
            let update = try enforcer.upsert(xa)
            #expect(update.kind == .endpoints)
            #expect(update.operationCount < 20)
            #expect(try network.run([fromClient]) { _ in false }.isEmpty)
            let contents = try handle.contents(of: enforcer.lowering.table)
            #expect(try enforcer.desiredContents().isEquivalent(to: contents))
            // Policy chains kept their rules (same kernel handles).
            #expect(contents.rules.filter { $0.chain.hasPrefix("p") }.map(\.handle) == policyRulesBefore.map(\.handle))
            xa.labels["app"] = "web"
            #expect(try enforcer.upsert(xa).kind == .endpoints)
            #expect(try network.run([fromClient]) { _ in true } == [fromClient])
            // A new pod gets its chains and map entries the same way; removing it takes them away.
            let removal = try enforcer.remove(network.endpoints[2].id)
            #expect(removal.kind == .elements || removal.kind == .endpoints)
            #expect(try enforcer.desiredContents().isEquivalent(to: handle.contents(of: enforcer.lowering.table)))
            #expect(try enforcer.upsert(network.endpoints[2]).kind != .replaced)
            #expect(try enforcer.desiredContents().isEquivalent(to: handle.contents(of: enforcer.lowering.table)))
        }
    }
}
