// Measures the pure policy layers at cluster scale: parsing, compiling the intermediate form,
// recompiling after one label change, and deciding packets with the evaluator and the
// interpreter. Run by hand:
//   swift run -c release policy-benchmark [endpoints=1000] [policies=500]
import ArgumentParser
import NetPrimitives
import Policy
import PolicyEnforcerBenchmark

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

struct Arguments: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy-benchmark")

    @Argument(help: "Endpoints.") var endpoints = 1000
    @Argument(help: "Policies.") var policies = 500

    func validate() throws {
        guard endpoints >= 1, policies >= 1 else { throw ValidationError("endpoints and policies must be at least 1") }
    }
}

let arguments = Arguments.parseOrExit()
let endpointCount = arguments.endpoints
let policyCount = arguments.policies
// The same synthetic cluster as the enforcer benchmark, spread over 10 nodes.
let synthetic = try SyntheticCluster(endpoints: endpointCount, policies: policyCount, nodes: 10)
let endpoints = synthetic.endpoints
let cluster = synthetic.cluster
let text = synthetic.yamlText

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
