import NetPrimitives
import NetpolConformance
import Policy

/// A case's steps replayed on the Policy library's pure model: the nine pods of
/// ``NetpolModel`` as a `ClusterState` (synthetic addresses spread over three nodes, as the
/// lab places them; pod and namespace labels; the pod server's named ports) and a
/// `PolicySet`. Each probe step is decided for every pair and protocol by `PolicyEvaluator` and
/// by the programs the enforcers run (`PolicyProgram` compiled per node, run by
/// `ProgramInterpreter`: the source node's program decides egress, the destination node's
/// ingress), and both are compared with the case's truth table.
struct CatalogueReplay {
    /// One pair where the evaluator and the truth table disagree.
    struct Disagreement: CustomStringConvertible {
        /// `evaluator` or `node programs`.
        var decider: String
        var step: Int
        var port: Int
        var transport: NetpolProtocol
        var from: NetpolPod
        var to: NetpolPod
        var expected: Bool
        var explanation: String

        var description: String {
            "step \(step): \(from) -> \(to) \(transport)/\(port): table says \(expected ? "connected" : "blocked"), "
                + "\(decider) says otherwise\n\(explanation)"
        }
    }

    struct ReplayError: Error, CustomStringConvertible {
        var description: String
    }

    /// The address of every pod: `10.244.<node>.<n>`, pod `a` on node 1, `b` on 2, `c` on 3.
    static let environment = NetpolEnvironment(addresses: Dictionary(uniqueKeysWithValues: NetpolModel.pods.map { pod in
        let node = NetpolModel.podNames.firstIndex(of: pod.name)! + 1
        let host = NetpolModel.namespaces.firstIndex(of: pod.namespace)! + 2
        return (pod, "10.244.\(node).\(host)")
    }))

    static func node(of pod: NetpolPod) -> String { "node-\(NetpolModel.podNames.firstIndex(of: pod.name)! + 1)" }

    /// The named ports of the lab's pod server (`Lab.podServerPorts`).
    static let namedPorts: [NamedPort] = NetpolModel.ports.flatMap { port in
        [NamedPort(name: "serve-\(port)-tcp", port: UInt16(port), protocol: .tcp),
         NamedPort(name: "serve-\(port)-udp", port: UInt16(port), protocol: .udp)]
    }

    var policies = PolicySet()
    var podLabels: [NetpolPod: [String: String]] = Dictionary(
        uniqueKeysWithValues: NetpolModel.pods.map { ($0, NetpolModel.labels(of: $0)) })
    var namespaceLabels: [String: [String: String]] = Dictionary(
        uniqueKeysWithValues: NetpolModel.namespaces.map { namespace in
            var labels = NetpolModel.labels(ofNamespace: namespace)
            labels["kubernetes.io/metadata.name"] = namespace
            return (namespace, labels)
        })

    func cluster() throws -> ClusterState {
        let endpoints = NetpolModel.pods.map { pod in
            Endpoint(
                namespace: pod.namespace, name: pod.name, addresses: [IPAddress(Self.environment.address(of: pod))!],
                labels: podLabels[pod]!, namespaceLabels: namespaceLabels[pod.namespace]!, namedPorts: Self.namedPorts,
                node: Self.node(of: pod))
        }
        let nodes = (1...3).map { ClusterNode(name: "node-\($0)", addresses: [IPAddress("172.20.0.\($0)")!]) }
        return try ClusterState(endpoints: endpoints, nodes: nodes)
    }

    /// Replays every step of `netpolCase`; returns the disagreements of its probe steps.
    static func replay(_ netpolCase: NetpolCase) throws -> [Disagreement] {
        var model = CatalogueReplay()
        var disagreements: [Disagreement] = []
        for (index, step) in netpolCase.steps.enumerated() {
            disagreements += try model.perform(step, index: index)
        }
        return disagreements
    }

    mutating func perform(_ step: NetpolStep, index: Int) throws -> [Disagreement] {
        switch step {
        case let .apply(text):
            policies.merge(try PolicySet(parsing: text(Self.environment)))
        case let .delete(namespace, name):
            guard policies.networkPolicies.contains(where: { $0.namespace == namespace && $0.name == name }) else {
                throw ReplayError(description: "step \(index) deletes \(namespace)/\(name), which no earlier step applied")
            }
            policies.networkPolicies.removeAll { $0.namespace == namespace && $0.name == name }
        case let .labelPod(pod, changes):
            guard var labels = podLabels[pod] else { throw ReplayError(description: "step \(index) labels unknown pod \(pod)") }
            for (key, value) in changes { labels[key] = value }
            podLabels[pod] = labels
        case let .labelNamespace(namespace, changes):
            guard var labels = namespaceLabels[namespace] else {
                throw ReplayError(description: "step \(index) labels unknown namespace \(namespace)")
            }
            for (key, value) in changes { labels[key] = value }
            namespaceLabels[namespace] = labels
        case let .probe(port, protocols, reachability):
            return try probe(port: port, protocols: protocols, reachability, index: index)
        }
        return []
    }

    func probe(port: Int, protocols: [NetpolProtocol], _ reachability: Reachability, index: Int) throws -> [Disagreement] {
        let cluster = try cluster()
        let evaluator = PolicyEvaluator(policies: policies, cluster: cluster)
        let programs = Dictionary(uniqueKeysWithValues: Set(NetpolModel.pods.map(Self.node(of:))).map { node in
            (node, ProgramInterpreter(program: PolicyProgram(compiling: policies, cluster: cluster, node: node)))
        })
        var disagreements: [Disagreement] = []
        for transport in protocols {
            let protocolNumber: TransportProtocol = transport == .tcp ? .tcp : .udp
            for from in NetpolModel.pods {
                for to in NetpolModel.pods where to != from {
                    let expected = reachability[from, to]
                    let packet = Packet(
                        from: .pod(from.namespace, from.name), to: .pod(to.namespace, to.name), protocol: protocolNumber,
                        port: UInt16(port))
                    let explanation = try evaluator.explain(packet)
                    if explanation.isAllowed != expected {
                        disagreements.append(Disagreement(
                            decider: "evaluator", step: index, port: port, transport: transport, from: from, to: to,
                            expected: expected, explanation: explanation.description))
                    }
                    let source = IPAddress(Self.environment.address(of: from))!
                    let destination = IPAddress(Self.environment.address(of: to))!
                    func decide(on node: String) -> ProgramDecision {
                        programs[node]!.decide(
                            source: source, destination: destination, protocol: protocolNumber, sourcePort: 40000,
                            destinationPort: UInt16(port))
                    }
                    let egress = decide(on: Self.node(of: from)).egress
                    let ingress = decide(on: Self.node(of: to)).ingress
                    let allowed = (egress?.isAllowed ?? true) && (ingress?.isAllowed ?? true)
                    if allowed != expected {
                        disagreements.append(Disagreement(
                            decider: "node programs", step: index, port: port, transport: transport, from: from, to: to,
                            expected: expected,
                            explanation: "egress \(egress.map(\.description) ?? "none"), ingress \(ingress.map(\.description) ?? "none")"))
                    }
                }
            }
        }
        return disagreements
    }
}
