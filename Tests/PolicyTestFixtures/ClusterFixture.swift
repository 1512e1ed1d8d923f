import NetPrimitives
public import Testing
import Policy

/// The upstream netpol e2e cluster shape: namespaces x, y, z (label `ns`), pods a, b, c in each
/// (label `pod`), each serving TCP 80/81, UDP 80/81 and SCTP 80/81 under the upstream port names.
/// Pod x/a has 10.0.1.1, y/b 10.0.2.2, and so on; every pod runs on node n1 (192.168.0.1).
public enum ClusterFixture {
    public static let namespaces = ["x", "y", "z"]
    public static let pods = ["a", "b", "c"]
    public static let nodeAddress: IPAddress = "192.168.0.1"
    public static let external: IPAddress = "203.0.113.9"

    public static func address(_ namespace: String, _ pod: String) -> IPAddress {
        let n = UInt8(namespaces.firstIndex(of: namespace)! + 1)
        let p = UInt8(pods.firstIndex(of: pod)! + 1)
        return .v4(IPv4Address(10, 0, n, p))
    }

    public static var namedPorts: [NamedPort] {
        [NamedPort(name: "serve-80-tcp", port: 80, protocol: .tcp), NamedPort(name: "serve-81-tcp", port: 81, protocol: .tcp),
         NamedPort(name: "serve-80-udp", port: 80, protocol: .udp), NamedPort(name: "serve-81-udp", port: 81, protocol: .udp),
         NamedPort(name: "serve-80-sctp", port: 80, protocol: .sctp), NamedPort(name: "serve-81-sctp", port: 81, protocol: .sctp)]
    }

    public static var endpoints: [Endpoint] {
        namespaces.flatMap { namespace in
            pods.map { pod in
                Endpoint(namespace: namespace, name: pod, addresses: [address(namespace, pod)],
                         interfaceName: try? InterfaceName("cali\(namespace)\(pod)"), labels: ["pod": pod],
                         namespaceLabels: ["ns": namespace], namedPorts: namedPorts, node: "n1")
            }
        }
    }

    public static var cluster: ClusterState {
        try! ClusterState(endpoints: endpoints, nodes: [ClusterNode(name: "n1", addresses: [nodeAddress])])
    }

    /// Every (from, to) pod pair, as "x/a" strings.
    public static var pairs: [(String, String)] {
        let all = namespaces.flatMap { namespace in pods.map { "\(namespace)/\($0)" } }
        return all.flatMap { from in all.map { (from, $0) } }
    }

    public static func peer(_ text: String) -> PacketPeer {
        let parts = text.split(separator: "/").map(String.init)
        return .pod(parts[0], parts[1])
    }
}

/// Checks the reference evaluator against a hand-written expectation for every pod pair, and
/// the compiled program (through the interpreter) against the evaluator, decision for decision.
public func expectReachability(
    _ policies: PolicySet, cluster: ClusterState = ClusterFixture.cluster, port: UInt16 = 80,
    protocol transport: TransportProtocol = .tcp, sourceLocation: SourceLocation = #_sourceLocation,
    expected: (_ from: String, _ to: String) -> Bool
) throws {
    let evaluator = PolicyEvaluator(policies: policies, cluster: cluster)
    var wrong: [String] = []
    for (from, to) in ClusterFixture.pairs {
        let packet = Packet(from: ClusterFixture.peer(from), to: ClusterFixture.peer(to), protocol: transport, port: port)
        let explanation = try evaluator.explain(packet)
        if explanation.isAllowed != expected(from, to) {
            wrong.append("\(from) -> \(to) \(transport)/\(port): got \(explanation.isAllowed ? "allowed" : "denied")\n\(explanation)")
        }
    }
    #expect(wrong.isEmpty, "\(wrong.count) wrong:\n\(wrong.prefix(4).joined(separator: "\n"))", sourceLocation: sourceLocation)
    try expectProgramAgrees(policies, cluster: cluster, ports: [port], protocols: [transport], sourceLocation: sourceLocation)
}

/// Compiles the policies and checks that the interpreter reaches the same decisions (and the
/// same reasons) as the evaluator for every pair of endpoints, plus node and external sources.
public func expectProgramAgrees(
    _ policies: PolicySet, cluster: ClusterState, ports: [UInt16], protocols: [TransportProtocol],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let evaluator = PolicyEvaluator(policies: policies, cluster: cluster)
    let interpreter = ProgramInterpreter(program: PolicyProgram(compiling: policies, cluster: cluster))
    var sources = cluster.endpoints.flatMap(\.addresses) + cluster.nodes.flatMap(\.addresses)
    sources.append(ClusterFixture.external)
    let destinations = cluster.endpoints.flatMap(\.addresses) + [ClusterFixture.external]
    var mismatches: [String] = []
    for source in sources {
        for destination in destinations where source.family == destination.family {
            for transport in protocols {
                for port in ports {
                    let packet = Packet(from: .address(source), to: .address(destination), protocol: transport,
                                        port: port, sourcePort: 40000)
                    let reference = try evaluator.explain(packet)
                    let compiled = interpreter.decide(source: source, destination: destination, protocol: transport,
                                                      sourcePort: 40000, destinationPort: port)
                    if compiled.isAllowed != reference.isAllowed || compiled.ingress != reference.ingress
                        || compiled.egress != reference.egress {
                        mismatches.append("\(packet): evaluator \(reference)\n  program egress \(String(describing: compiled.egress)) ingress \(String(describing: compiled.ingress))")
                    }
                }
            }
        }
    }
    #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.prefix(3).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
}

public func namespace(of peer: String) -> String { String(peer.split(separator: "/")[0]) }
public func podName(of peer: String) -> String { String(peer.split(separator: "/")[1]) }
