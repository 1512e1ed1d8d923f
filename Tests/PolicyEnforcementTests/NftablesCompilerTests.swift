import PolicyTestFixtures
import NetPrimitives
import Netlink
import Nftables
import Testing
@testable import Policy
@testable import PolicyEnforcement

/// The nftables lowering inspected as values and as `nft -f` text (no kernel needed).
@Suite struct NftablesCompilerTests {
    static let everything = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: x}
        spec:
          podSelector: {matchLabels: {pod: a}}
          policyTypes: [Ingress, Egress]
          ingress:
          - from:
            - podSelector: {matchExpressions: [{key: pod, operator: In, values: [b, c]}]}
            - namespaceSelector: {matchLabels: {ns: y}}
              podSelector: {matchLabels: {pod: b}}
            - namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x, y]}]}
            ports:
            - {port: 80, protocol: TCP}
            - {port: 1000, endPort: 2000, protocol: UDP}
            - {port: serve-81-sctp, protocol: SCTP}
          - from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.2.0/24]}}]
            ports: [{port: 81, protocol: SCTP}]
          egress:
          - to: [{namespaceSelector: {matchExpressions: [{key: ns, operator: Exists}]}}]
            ports: [{port: serve-80-tcp}]
        ---
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
          selector: "projectcalico.org/namespace == 'x'"
          ingress:
          - {action: Log, source: {namespaceSelector: "ns == 'z'"}}
          - {action: Pass, source: {namespaceSelector: "ns == 'z'"}}
          - {action: Deny, protocol: UDP, source: {nets: [203.0.113.0/24], notNets: [203.0.113.128/25]}}
          - {action: Allow, protocol: SCTP, destination: {ports: [80, "90:99"]}}
        """

    static func compiled(_ text: String = everything, cluster: ClusterState = ClusterFixture.cluster)
        throws -> (PolicyProgram, NftablesTableContents)
    {
        let program = PolicyProgram(compiling: try PolicySet(parsing: text), cluster: cluster, node: "n1")
        return (program, try NftablesPolicyCompiler().contents(for: program))
    }

    static func rules(_ contents: NftablesTableContents, _ chain: String) -> [String] {
        contents.rules.filter { $0.chain == chain }.map(\.description)
    }

    @Test func baseChainsAcceptEstablishedFirstThenDispatchByInterface() throws {
        let (program, contents) = try Self.compiled()
        #expect(contents.table == NftablesTable(family: .inet, name: "swiftcni_policy"))
        for chain in ["egress", "ingress", "node-egress"] {
            let rules = Self.rules(contents, chain)
            #expect(rules.prefix(2) == ["ct state established,related accept", "ct state invalid drop"])
        }
        #expect(Self.rules(contents, "egress").last == "iifname vmap @egress-interfaces")
        #expect(Self.rules(contents, "ingress").last == "oifname vmap @ingress-interfaces")
        #expect(contents.chains.first { $0.name == "ingress" }?.base?.hook == .forward)
        #expect(contents.chains.first { $0.name == "node-egress" }?.base?.hook == .input)
        let xa = try #require(program.endpoints.first { $0.id == EndpointID(namespace: "x", name: "a") })
        let ingressMap = contents.elements["ingress-interfaces"] ?? []
        #expect(ingressMap.contains(NftablesSetElement(.interfaceName("calixa"), verdict: .jump(xa.chainName(.ingress)))))
        #expect((contents.elements["egress-interfaces"] ?? []).map(\.description) == ["\"calixa\" : jump \(xa.chainName(.egress))"])
        // Pods of y and z are not isolated: not in the maps, no chains.
        let yb = try #require(program.endpoints.first { $0.id == EndpointID(namespace: "y", name: "b") })
        #expect(!contents.chains.contains { $0.name.hasPrefix(yb.chainName) })
        #expect(!ingressMap.contains { $0.description.contains("caliyb") })
    }

    @Test func endpointChainsJumpPoliciesPerTierAndDenyAtTheEnd() throws {
        let (program, contents) = try Self.compiled()
        let xa = try #require(program.endpoints.first { $0.id == EndpointID(namespace: "x", name: "a") })
        let gate = try #require(program.policies.first { $0.policy.name == "security.gate" })
        let web = try #require(program.policies.first { $0.policy.name == "web" })
        let ingress = Self.rules(contents, xa.chainName(.ingress))
        #expect(ingress.first == "ip saddr 192.168.0.1 accept comment \"from own node\"")
        #expect(ingress.contains("jump \(gate.chainName(.ingress))"))
        // The gate's Pass conditions, after the jump, go to the next tier's chain.
        let pass = try #require(ingress.first { $0.contains("goto") })
        #expect(pass.hasSuffix("goto \(xa.chainName(.ingress))-1 comment \"pass \(gate.chainName)\""))
        #expect(pass.hasPrefix("ip saddr @a"))
        #expect(ingress.last == "drop comment \"end of tier security\"")
        let defaultTier = Self.rules(contents, "\(xa.chainName(.ingress))-1")
        #expect(defaultTier == ["jump \(web.chainName(.ingress))", "drop comment \"end of tier default\""])
        #expect(Self.rules(contents, xa.chainName(.egress)) == ["jump \(web.chainName(.egress))", "drop comment \"end of tier default\""])
    }

    @Test func calicoActionsLowerToVerdictsAndLog() throws {
        let (program, contents) = try Self.compiled()
        let gate = try #require(program.policies.first { $0.policy.name == "security.gate" })
        let rules = Self.rules(contents, gate.chainName(.ingress))
        // Selector rules exist per family (ip and ip6 sets); the rest once.
        #expect(rules.count == 6)
        #expect(rules.filter { $0.contains("log prefix \"swcni security.gate \"") }.count == 2)
        #expect(rules.filter { $0.contains(" return comment") }.count == 2)
        #expect(rules.contains { $0.hasPrefix("meta l4proto udp ip saddr @a") && $0.contains(" drop comment") })
        #expect(rules.last?.hasPrefix("sctp dport { 80, 90-99 } accept") == true)
        #expect(rules.first?.hasPrefix("ip saddr @a") == true)
        // The network set holds 203.0.113.0/25 only (notNets removed).
        let network = try #require(program.addressSets.first { $0.origin.contains("203.0.113") })
        #expect(contents.elements[network.name]?.map(\.description) == ["203.0.113.0/25"])
        #expect(contents.sets.first { $0.name == network.name }?.isInterval == true)
        // Selector sets are plain (hash) sets of addresses.
        let selector = try #require(program.addressSets.first { $0.holdsEndpointAddresses })
        #expect(contents.sets.first { $0.name == selector.name }?.isInterval == false)
    }

    @Test func kubernetesPortsSelectorsIpBlocksAndSCTP() throws {
        let (program, contents) = try Self.compiled()
        let web = try #require(program.policies.first { $0.policy.name == "web" })
        let ingress = Self.rules(contents, web.chainName(.ingress))
        #expect(ingress.contains { $0.contains("tcp dport 80 accept") })
        #expect(ingress.contains { $0.contains("udp dport 1000-2000 accept") })
        #expect(ingress.contains { $0.contains("ip daddr . meta l4proto . sctp dport @n") })
        #expect(ingress.contains { $0.contains("sctp dport 81 accept") && $0.hasPrefix("ip saddr @a") })
        // Pods b and c of namespace x, in a set of their own.
        let podsBC = try #require(program.addressSets.first { set in set.elements.map(\.description) == ["10.0.1.2", "10.0.1.3"] })
        #expect(contents.elements[podsBC.name]?.map(\.description) == ["10.0.1.2", "10.0.1.3"])
        // ipBlock with except: merged intervals.
        let block = try #require(program.addressSets.first { $0.origin.contains("10.0.0.0/16") })
        #expect(contents.elements[block.name]?.map(\.description) == ["10.0.0.0/23", "10.0.3.0-10.0.255.255"])
        // Named ports: (address . protocol . port) of every pod, SCTP included.
        let named = try #require(program.namedPortSets.first { $0.elements.contains { $0.protocol == .sctp } })
        let set = try #require(contents.sets.first { $0.name == named.name })
        #expect(set.keyType == [.ipv4Address, .l4Protocol, .port])
        #expect(contents.elements[named.name]?.contains { $0.description == "10.0.1.1 . sctp . 81" } == true)
        let egress = Self.rules(contents, web.chainName(.egress))
        #expect(egress.contains { $0.contains("ip daddr . meta l4proto . tcp dport @n") })
    }

    @Test func textRendersTheWholeTableForNft() throws {
        let (program, contents) = try Self.compiled()
        let text = try NftablesPolicyCompiler().nftText(for: program)
        #expect(text == contents.nftText)
        #expect(text.hasPrefix("table inet swiftcni_policy {\n"))
        #expect(text.contains("\tmap egress-interfaces {\n\t\ttype ifname : verdict\n"))
        #expect(text.contains("\tchain ingress {\n\t\ttype filter hook forward priority 10; policy accept;\n"))
        #expect(text.contains("type ipv4_addr . inet_proto . inet_service"))
        let replacement = try NftablesPolicyCompiler().replacement(for: program).nftScript
        #expect(replacement.hasPrefix("add table inet swiftcni_policy\ndelete table inet swiftcni_policy\nadd table inet swiftcni_policy\n"))
    }

    @Test func peerLabelChangeIsAnElementTransaction() throws {
        let policies = try PolicySet(parsing: Self.everything)
        var compiler = IncrementalCompiler(policies: policies, cluster: ClusterFixture.cluster, node: "n1")
        var yb = try #require(ClusterFixture.cluster[EndpointID(namespace: "y", name: "b")])
        yb.labels["pod"] = "q"
        let changes = try compiler.upsert(yb)
        #expect(changes.isElementOnly && !changes.isEmpty)
        let transaction = try NftablesPolicyCompiler().elementTransaction(for: changes, in: compiler.program)
        #expect(!transaction.isEmpty)
        for operation in transaction.operations {
            switch operation {
            case .addElements, .deleteElements: break
            default: Issue.record("unexpected operation \(operation)")
            }
        }
        #expect(transaction.nftScript.contains("delete element inet swiftcni_policy a"))
        #expect(transaction.nftScript.contains("10.0.2.2"))
        // Same result as compiling from scratch.
        let fresh = try NftablesPolicyCompiler().contents(for: PolicyProgram(compiling: policies, cluster: compiler.cluster, node: "n1"))
        #expect(try NftablesPolicyCompiler().contents(for: compiler.program).isEquivalent(to: fresh))
    }

    @Test func endpointsWithoutInterfaceAreDispatchedByAddress() throws {
        let endpoints = ClusterFixture.endpoints.map { endpoint in
            var copy = endpoint
            copy.interfaceName = nil
            return copy
        }
        let cluster = try ClusterState(endpoints: endpoints, nodes: [ClusterNode(name: "n1", addresses: [ClusterFixture.nodeAddress])])
        let (_, contents) = try Self.compiled(cluster: cluster)
        #expect(Self.rules(contents, "egress").contains("ip saddr vmap @egress-addresses4"))
        #expect(Self.rules(contents, "ingress").contains("ip daddr vmap @ingress-addresses4"))
        #expect(contents.elements["ingress-addresses4"]?.contains { $0.description.hasPrefix("10.0.1.1 : jump e") } == true)
    }

    @Test func unsupportedProtocolIsAClearError() throws {
        var rule = CompiledRule(rule: RuleReference(policy: PolicyReference(kind: .kubernetes, namespace: "x", name: "p"),
                                                    direction: .ingress, index: 0),
                                family: nil, protocol: .udpLite, source: nil, destination: nil, sourcePorts: [],
                                destinationPorts: [], sourceNamedPorts: nil, destinationNamedPorts: nil, action: .allow)
        rule.action = .allow
        let policy = CompiledPolicy(policy: rule.rule.policy, chainName: "p1", tier: "default", order: 1000, ingress: [rule], egress: [])
        let program = PolicyProgram(addressSets: [], namedPortSets: [], policies: [policy], endpoints: [])
        #expect(throws: PolicyError.self) { try NftablesPolicyCompiler().contents(for: program) }
    }

    @Test func selectedPodChangeRewritesOnlyItsChains() throws {
        let policies = try PolicySet(parsing: Self.everything)
        var compiler = IncrementalCompiler(policies: policies, cluster: ClusterFixture.cluster, node: "n1")
        let old = compiler.program
        var xa = try #require(ClusterFixture.cluster[EndpointID(namespace: "x", name: "a")])
        xa.labels["pod"] = "z"
        let changes = try compiler.upsert(xa)
        #expect(!changes.isElementOnly && changes.changedEndpoints.count == 1)
        let lowering = NftablesPolicyCompiler()
        let transaction = try #require(try lowering.endpointTransaction(for: changes, from: old, to: compiler.program))
        let script = transaction.nftScript
        let chain = changes.changedEndpoints[0].chainName
        #expect(script.contains("delete element inet swiftcni_policy ingress-interfaces { \"calixa\" : jump \(chain)-i }"))
        #expect(script.contains("flush chain inet swiftcni_policy \(chain)-i"))
        #expect(script.contains("add element inet swiftcni_policy ingress-interfaces { \"calixa\" : jump \(chain)-i }"))
        // No policy chain is touched.
        for policy in compiler.program.policies {
            #expect(!script.contains("flush chain inet swiftcni_policy \(policy.chainName)"))
            #expect(!script.contains("add rule inet swiftcni_policy \(policy.chainName)"))
        }
        // A policy change is not an endpoint change.
        let other = PolicyProgram(compiling: PolicySet(), cluster: ClusterFixture.cluster, node: "n1")
        #expect(try lowering.endpointTransaction(for: old.changes(to: other), from: old, to: other) == nil)
    }

    @Test func policyChangeIsRewrittenInPlace() throws {
        let lowering = NftablesPolicyCompiler()
        let (old, before) = try Self.compiled()
        let changed = Self.everything.replacingOccurrences(of: "{port: 80, protocol: TCP}", with: "{port: 8080, protocol: TCP}")
        let (new, after) = try Self.compiled(changed)
        let transaction = try #require(lowering.transaction(from: before, to: after))
        let script = transaction.nftScript
        let web = try #require(new.policies.first { $0.policy.name == "web" })
        #expect(script.contains("flush chain inet swiftcni_policy \(web.chainName(.ingress))"))
        #expect(script.contains("tcp dport 8080 accept"))
        // The Calico policy, its sets and the base chains are not touched; no table deletion.
        let gate = try #require(old.policies.first { $0.policy.name == "security.gate" })
        #expect(!script.contains(gate.chainName))
        #expect(!script.contains("delete table") && !script.contains("add set") && !script.contains("flush chain inet swiftcni_policy ingress\n"))
        // Nothing to do between equal tables; a changed set definition needs a replacement.
        #expect(lowering.transaction(from: after, to: after)?.isEmpty == true)
        var redefined = after
        redefined.sets[0].isInterval.toggle()
        #expect(lowering.transaction(from: before, to: redefined) == nil)
    }
}
