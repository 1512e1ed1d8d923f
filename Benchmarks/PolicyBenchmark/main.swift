// Measures the pure policy layers at cluster scale: parsing, compiling the intermediate form,
// recompiling after one label change, and deciding packets with the evaluator and the
// interpreter. Run by hand:
//   swift run -c release policy-benchmark [endpoints=1000] [policies=500]
import NetPrimitives
import Policy

#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// Median wall time of `runs` executions, in milliseconds.
func measure(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<runs {
        let start = now()
        try body()
        samples.append((now() - start) * 1000)
    }
    return samples.sorted()[samples.count / 2]
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let endpointCount = arguments.first ?? 1000
let policyCount = arguments.dropFirst().first ?? 500
let namespaces = 20, apps = 50

var endpoints: [Endpoint] = []
for index in 0..<endpointCount {
    let address = IPAddress.v4(IPv4Address(10, 244, UInt8(index / 250), UInt8(index % 250 + 1)))
    endpoints.append(Endpoint(
        namespace: "ns\(index % namespaces)", name: "pod\(index)", addresses: [address],
        interfaceName: try InterfaceName("cali\(index)"),
        labels: ["app": "app\(index % apps)", "tier": ["front", "back", "db"][index % 3]],
        namespaceLabels: ["team": "team\(index % namespaces % 4)"],
        namedPorts: [NamedPort(name: "http", port: UInt16(8000 + index % 3))], node: "node\(index % 10)"))
}
let cluster = try ClusterState(endpoints: endpoints, nodes: (0..<10).map {
    ClusterNode(name: "node\($0)", addresses: [.v4(IPv4Address(192, 168, 0, UInt8($0 + 1)))])
})

var documents: [String] = []
for index in 0..<policyCount {
    if index % 5 == 4 {
        documents.append("""
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: g\(index)}
            spec:
              order: \(index)
              selector: app == 'app\(index % apps)' && tier in {'front', 'back'}
              ingress:
              - {action: Deny, protocol: TCP, source: {nets: [203.0.113.0/24]}, destination: {ports: [22, "6000:6100"]}}
              - {action: Allow, source: {selector: has(app), namespaceSelector: team == 'team\(index % 4)'}}
              egress:
              - {action: Pass, destination: {notNets: [10.244.0.0/16]}}
            """)
    } else {
        documents.append("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: p\(index), namespace: ns\(index % namespaces)}
            spec:
              podSelector: {matchLabels: {app: app\(index % apps)}}
              policyTypes: [Ingress, Egress]
              ingress:
              - from:
                - podSelector: {matchLabels: {app: app\((index + 1) % apps)}}
                - namespaceSelector: {matchLabels: {team: team\(index % 4)}}
                  podSelector: {matchExpressions: [{key: tier, operator: In, values: [front]}]}
                ports: [{port: http}, {port: 9000, endPort: 9100}]
              egress:
              - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.244.\(index % 4).0/24]}}]
                ports: [{protocol: UDP, port: 53}]
            """)
    }
}
let text = documents.joined(separator: "\n---\n")

var policies = PolicySet()
let parse = try measure(3) { policies = try PolicySet(parsing: text) }
var program = PolicyProgram(compiling: policies, cluster: cluster)
let compile = measure(3) { program = PolicyProgram(compiling: policies, cluster: cluster) }
let compileNode = measure(3) { _ = PolicyProgram(compiling: policies, cluster: cluster, node: "node0") }

var changed = cluster
var pod = changed[EndpointID(namespace: "ns7", name: "pod7")]!
pod.labels["app"] = "app1"
try changed.insert(pod)
var changes = ProgramChanges()
let relabel = measure(3) {
    let updated = PolicyProgram(compiling: policies, cluster: changed)
    changes = program.changes(to: updated)
}

// The incremental path: one label change on a compiler that stays alive, alternating so each
// run really changes something. A peer-only change (set elements) and a selected pod change.
var incremental = IncrementalCompiler(policies: policies, cluster: cluster)
var flip = false
var incrementalChanges = ProgramChanges()
let relabelIncremental = try measure(21) {
    var target = incremental.cluster[EndpointID(namespace: "ns7", name: "pod7")]!
    target.labels["app"] = flip ? "app7" : "app1"
    flip.toggle()
    incrementalChanges = try incremental.upsert(target)
}
let peerIncremental = try measure(21) {
    var target = incremental.cluster[EndpointID(namespace: "ns13", name: "pod13")]!
    target.labels["tier"] = flip ? "front" : "back"
    flip.toggle()
    incrementalChanges = try incremental.upsert(target)
}

let evaluator = PolicyEvaluator(policies: policies, cluster: cluster)
let interpreter = ProgramInterpreter(program: program)
let packets = (0..<1000).map { index in
    (endpoints[index % endpointCount].addresses[0], endpoints[(index * 7 + 3) % endpointCount].addresses[0])
}
var allowed = 0
let explain = try measure(3) {
    for (source, destination) in packets {
        if try evaluator.isAllowed(Packet(from: .address(source), to: .address(destination), port: 8001)) { allowed += 1 }
    }
} / Double(packets.count)
let decide = measure(3) {
    for (source, destination) in packets where interpreter.decide(
        source: source, destination: destination, protocol: .tcp, sourcePort: 40000, destinationPort: 8001).isAllowed {
        allowed += 1
    }
} / Double(packets.count)

let rules = program.policies.reduce(0) { $0 + $1.ingress.count + $1.egress.count }
let elements = program.addressSets.reduce(0) { $0 + $1.elements.count } + program.namedPortSets.reduce(0) { $0 + $1.elements.count }
print("endpoints \(endpointCount), policies \(policyCount) (\(text.utf8.count) bytes of YAML)")
print("program: \(rules) rules, \(program.addressSets.count) address sets, \(program.namedPortSets.count) named-port sets, \(elements) set elements")
print(String(format: "parse YAML            %9.2f ms", parse))
print(String(format: "compile (cluster)     %9.2f ms", compile))
print(String(format: "compile (one node)    %9.2f ms", compileNode))
print(String(format: "label change: compile + diff %6.2f ms (%d element changes, element-only: %@)", relabel,
             changes.elementChangeCount, changes.isElementOnly ? "yes" : "no"))
print(String(format: "label change: incremental %6.3f ms (selected pod: chains of 1 endpoint + elements)", relabelIncremental))
print(String(format: "label change: incremental %6.3f ms (peer only: %d element changes, element-only: %@)", peerIncremental,
             incrementalChanges.elementChangeCount, incrementalChanges.isElementOnly ? "yes" : "no"))
print(String(format: "evaluator explain     %9.2f µs/packet", explain * 1000))
print(String(format: "interpreter decide    %9.2f µs/packet", decide * 1000))
