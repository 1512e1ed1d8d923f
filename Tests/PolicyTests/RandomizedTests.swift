import PolicyTestFixtures
import NetPrimitives
import Testing
@testable import Policy

/// A deterministic generator (SplitMix64), so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Small random clusters and policies: the compiled program must agree with the evaluator
/// everywhere, and for Kubernetes-only sets the evaluator must agree with a brute-force model
/// written independently below.
@Suite struct RandomizedTests {
    static let values = ["1", "2"]

    struct World {
        var cluster: ClusterState
        var policies: PolicySet
    }

    static func world(seed: UInt64, calico: Bool) -> World {
        var random = SeededGenerator(state: seed)
        func labels() -> [String: String] {
            var result: [String: String] = [:]
            for key in ["a", "b"] where Bool.random(using: &random) { result[key] = values.randomElement(using: &random)! }
            return result
        }
        let namespaceLabels = ["n1": labels(), "n2": labels()]
        var endpoints: [Endpoint] = []
        for index in 0..<6 {
            let namespace = index % 2 == 0 ? "n1" : "n2"
            var addresses: [IPAddress] = [.v4(IPv4Address(10, 1, 0, UInt8(index + 1)))]
            if index % 3 == 0 { addresses.append(IPAddress(family: .v6, numericValue: 0xfd00 << 112 | UInt128(index + 1))!) }
            var ports: [NamedPort] = []
            if Bool.random(using: &random) { ports.append(NamedPort(name: "web", port: [80, 81].randomElement(using: &random)!)) }
            if Bool.random(using: &random) { ports.append(NamedPort(name: "web", port: 80, protocol: .udp)) }
            endpoints.append(Endpoint(namespace: namespace, name: "p\(index)", addresses: addresses, labels: labels(),
                                      namespaceLabels: namespaceLabels[namespace]!, namedPorts: ports, node: "node"))
        }
        let cluster = try! ClusterState(endpoints: endpoints, nodes: [ClusterNode(name: "node", addresses: ["10.9.0.1"])])

        func selector() -> LabelSelector {
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return .everything
            case 1: return LabelSelector(matchLabels: ["a": values.randomElement(using: &random)!])
            case 2: return LabelSelector(matchExpressions: [.init(key: "b", operator: Bool.random(using: &random) ? .exists : .doesNotExist)])
            default: return LabelSelector(matchExpressions: [.init(key: "a", operator: .notIn, values: ["1"])])
            }
        }
        func peer() -> NetworkPolicyPeer {
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return .pods(podSelector: selector(), namespaceSelector: nil)
            case 1: return .pods(podSelector: nil, namespaceSelector: selector())
            case 2: return .pods(podSelector: selector(), namespaceSelector: selector())
            default: return .ipBlock(IPBlock(cidr: "10.1.0.0/29", except: Bool.random(using: &random) ? ["10.1.0.2/31"] : []))
            }
        }
        func port() -> NetworkPolicyPort {
            let transport: TransportProtocol = [.tcp, .udp, .sctp].randomElement(using: &random)!
            switch Int.random(in: 0..<4, using: &random) {
            case 0: return NetworkPolicyPort(protocol: transport)
            case 1: return NetworkPolicyPort(protocol: transport, port: .number(80))
            case 2: return NetworkPolicyPort(protocol: transport, port: .number(80), endPort: 81)
            default: return NetworkPolicyPort(protocol: transport, port: .named("web"))
            }
        }
        func rules() -> [NetworkPolicyRule] {
            (0..<Int.random(in: 0...2, using: &random)).map { _ in
                NetworkPolicyRule(peers: (0..<Int.random(in: 0...2, using: &random)).map { _ in peer() },
                                  ports: (0..<Int.random(in: 0...2, using: &random)).map { _ in port() })
            }
        }
        var set = PolicySet()
        for index in 0..<Int.random(in: 1...3, using: &random) {
            let types: [Set<PolicyDirection>?] = [nil, [.ingress], [.egress], [.ingress, .egress]]
            set.networkPolicies.append(NetworkPolicy(
                name: "k\(index)", namespace: ["n1", "n2"].randomElement(using: &random)!, podSelector: selector(),
                policyTypes: types.randomElement(using: &random)!, ingress: rules(), egress: rules()))
        }
        guard calico else { return World(cluster: cluster, policies: set) }
        func calicoSelector() -> CalicoSelector {
            [CalicoSelector.all, .equal(key: "a", value: "1"), .has(key: "b"), .notIn(key: "a", values: ["2"]),
             .or(.equal(key: "projectcalico.org/namespace", value: "n1"), .not(.has(key: "a")))].randomElement(using: &random)!
        }
        func entity() -> CalicoEntityRule {
            var entity = CalicoEntityRule()
            if Int.random(in: 0..<3, using: &random) == 0 { entity.selector = calicoSelector() }
            if Int.random(in: 0..<4, using: &random) == 0 { entity.namespaceSelector = calicoSelector() }
            if Int.random(in: 0..<4, using: &random) == 0 { entity.nets = ["10.1.0.0/30"] }
            if Int.random(in: 0..<4, using: &random) == 0 { entity.notNets = [["10.1.0.4/31", "fd00::/120"].randomElement(using: &random)!] }
            return entity
        }
        func calicoRule() -> CalicoRule {
            var rule = CalicoRule(action: RuleAction.allCases.randomElement(using: &random)!, source: entity(), destination: entity())
            if Bool.random(using: &random) {
                rule.protocol = [.tcp, .udp].randomElement(using: &random)!
                if Bool.random(using: &random) {
                    rule.destination.ports = [[.range(PortRange(80, 81)!)], [.named("web")], [.range(PortRange(port: 81)), .named("web")]]
                        .randomElement(using: &random)!
                }
                if Int.random(in: 0..<4, using: &random) == 0 {
                    rule.source.ports = [[.range(PortRange(39990, 40010)!)], [.range(PortRange(port: 1))], [.named("web")]]
                        .randomElement(using: &random)!
                }
            }
            if Int.random(in: 0..<5, using: &random) == 0 { rule.ipVersion = .v6 }
            return rule
        }
        set.tiers = [CalicoTier(name: "t", order: 1)]
        for index in 0..<Int.random(in: 1...3, using: &random) {
            let scope: CalicoPolicy.Scope = [.global, .namespaced("n1"), .namespaced("n2")].randomElement(using: &random)!
            set.calicoPolicies.append(CalicoPolicy(
                name: "c\(index)", scope: scope, tier: ["t", "default"].randomElement(using: &random)!,
                order: [nil, 500, 1000, 1500].randomElement(using: &random)!, selector: calicoSelector(),
                ingress: (0..<Int.random(in: 0...3, using: &random)).map { _ in calicoRule() },
                egress: (0..<Int.random(in: 0...3, using: &random)).map { _ in calicoRule() }))
        }
        return World(cluster: cluster, policies: set)
    }

    @Test(arguments: 0..<60)
    func programAgreesWithEvaluator(seed: Int) throws {
        let world = Self.world(seed: UInt64(seed), calico: seed % 2 == 1)
        try expectProgramAgrees(world.policies, cluster: world.cluster, ports: [80, 81, 82], protocols: [.tcp, .udp, .sctp])
    }

    @Test(arguments: 0..<60)
    func evaluatorAgreesWithBruteForceModel(seed: Int) throws {
        let world = Self.world(seed: UInt64(1000 + seed), calico: false)
        let evaluator = PolicyEvaluator(policies: world.policies, cluster: world.cluster)
        let model = BruteForceKubernetesModel(policies: world.policies.networkPolicies, pods: world.cluster.endpoints,
                                              nodeAddresses: ["10.9.0.1"])
        let addresses = world.cluster.endpoints.flatMap(\.addresses) + ["10.9.0.1", "10.1.0.200", "fd00::99"]
        var wrong: [String] = []
        for source in addresses {
            for destination in addresses where source.family == destination.family {
                for transport in [TransportProtocol.tcp, .udp, .sctp] {
                    for port: UInt16 in [79, 80, 81, 82] {
                        let packet = Packet(from: .address(source), to: .address(destination), protocol: transport, port: port)
                        let expected = model.allows(source: source, destination: destination, protocol: transport, port: port)
                        if try evaluator.isAllowed(packet) != expected { wrong.append("\(packet): expected \(expected)") }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}

/// Kubernetes NetworkPolicy semantics as the API documentation states them, written without
/// the module's matching code: a connection is allowed when the sender may send it (its pod is
/// not isolated for egress, or some egress rule of some policy selecting it admits it) and the
/// receiver may receive it (likewise for ingress); the node may always reach its own pods.
struct BruteForceKubernetesModel {
    let policies: [NetworkPolicy]
    let pods: [Endpoint]
    let nodeAddresses: [IPAddress]

    func allows(source: IPAddress, destination: IPAddress, protocol transport: TransportProtocol, port: UInt16) -> Bool {
        let sender = pods.first { $0.addresses.contains(source) }
        let receiver = pods.first { $0.addresses.contains(destination) }
        var sendOK = true
        if let sender {
            let selecting = policies.filter { selects($0, sender, "Egress") }
            if !selecting.isEmpty {
                sendOK = selecting.contains { policy in
                    policy.egress.contains { admits($0, policy: policy, peerAddress: destination, peerPod: receiver,
                                                    protocol: transport, port: port, portOwner: receiver) }
                }
            }
        }
        var receiveOK = true
        if let receiver, !(sender == nil && nodeAddresses.contains(source)) {
            let selecting = policies.filter { selects($0, receiver, "Ingress") }
            if !selecting.isEmpty {
                receiveOK = selecting.contains { policy in
                    policy.ingress.contains { admits($0, policy: policy, peerAddress: source, peerPod: sender,
                                                     protocol: transport, port: port, portOwner: receiver) }
                }
            }
        }
        return sendOK && receiveOK
    }

    private func selects(_ policy: NetworkPolicy, _ pod: Endpoint, _ type: String) -> Bool {
        policy.namespace == pod.namespace && labelsMatch(policy.podSelector, pod.labels)
            && policy.policyTypes.map(\.rawValue).contains(type)
    }

    private func labelsMatch(_ selector: LabelSelector, _ labels: [String: String]) -> Bool {
        for (key, value) in selector.matchLabels where labels[key] != value { return false }
        for requirement in selector.matchExpressions {
            let value = labels[requirement.key]
            switch requirement.operator.rawValue {
            case "In": if value == nil || !requirement.values.contains(value!) { return false }
            case "NotIn": if value != nil && requirement.values.contains(value!) { return false }
            case "Exists": if value == nil { return false }
            default: if value != nil { return false }
            }
        }
        return true
    }

    private func admits(
        _ rule: NetworkPolicyRule, policy: NetworkPolicy, peerAddress: IPAddress, peerPod: Endpoint?,
        protocol transport: TransportProtocol, port: UInt16, portOwner: Endpoint?
    ) -> Bool {
        var portOK = rule.ports.isEmpty
        for entry in rule.ports where entry.protocol == transport {
            switch entry.port {
            case nil: portOK = true
            case let .number(low)?: if port >= low && port <= (entry.endPort ?? low) { portOK = true }
            case let .named(name)?:
                if portOwner?.namedPorts.contains(where: { $0.name == name && $0.protocol == transport && $0.port == port }) == true {
                    portOK = true
                }
            }
        }
        if !portOK { return false }
        if rule.peers.isEmpty { return true }
        for peer in rule.peers {
            switch peer {
            case let .ipBlock(block):
                let inside = block.cidr.contains(peerAddress) && !block.except.contains { $0.contains(peerAddress) }
                if inside { return true }
            case let .pods(podSelector, namespaceSelector):
                guard let peerPod else { continue }
                let namespaceOK = namespaceSelector == nil
                    ? peerPod.namespace == policy.namespace
                    : labelsMatch(namespaceSelector!, peerPod.namespaceLabels.merging(["kubernetes.io/metadata.name": peerPod.namespace]) { a, _ in a })
                if namespaceOK && (podSelector == nil || labelsMatch(podSelector!, peerPod.labels)) { return true }
            }
        }
        return false
    }
}
