// calico-bgp-bench: how long swift-calico-node needs to install 100,000 routes learned from
// bird2 into the kernel, measured from the session's Established.
//
// Usage (root): calico-bgp-bench [--prefixes N] [--runs R] [--agent PATH] [--poll-ms MS]
//
// Per run, two fresh namespaces joined by a veth pair: bird2 (AS 65001, 10.100.0.1, passive)
// announces N /24 blackhole routes from a static protocol; swift-calico-node (AS 64512,
// 10.100.0.2) runs in the other namespace with bird as its global peer and connects. The bench
// polls the agent's /status (curl, 10 ms) for Established, then counts the kernel's routes
// `proto bgp` through Netlink every 50 ms (--poll-ms) until N are installed (each dump of
// 100,000 routes costs CPU the agent competes for).
// Build first: swift build -c release --product swift-calico-node --product calico-bgp-bench.
import ArgumentParser
import ChildProcess
import Foundation
import Namespaces
import Netlink

struct BenchError: Error, CustomStringConvertible { var description: String }

struct Options: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "calico-bgp-bench")

    @Option(help: "Prefixes bird2 announces.") var prefixes = 100_000
    @Option(help: "Runs.") var runs = 3
    @Option(help: "The swift-calico-node executable (default: next to this one).") var agent: String?
    @Flag(help: "Print the agent's log.") var verbose = false
    @Option(help: "The agent's graceful-restart time in seconds.") var gracefulRestartTime = 120
    @Option(name: .customLong("poll-ms"), help: "Milliseconds between route counts.") var pollMilliseconds = 50.0

    func validate() throws {
        guard prefixes >= 1, runs >= 1 else { throw ValidationError("--prefixes and --runs must be at least 1") }
        guard gracefulRestartTime >= 1 else { throw ValidationError("--graceful-restart-time must be at least 1") }
        guard pollMilliseconds > 0 else { throw ValidationError("--poll-ms must be positive") }
    }
}

let options = Options.parseOrExit()
let prefixes = options.prefixes
let runs = options.runs
let pollSeconds = options.pollMilliseconds / 1000
let verbose = options.verbose
let gracefulRestartTime = options.gracefulRestartTime
let agentPath = options.agent ?? (CommandLine.arguments[0] as NSString).deletingLastPathComponent + "/swift-calico-node"

let tag = "swcni-bench-cbgp-\(getpid())"
let directory = NSTemporaryDirectory() + tag
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

@discardableResult
func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws -> String {
    let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 10_000)
    guard output.status == .exited(0) else { throw BenchError(description: "ip \(arguments): \(String(decoding: output.standardError, as: UTF8.self))") }
    return String(decoding: output.standardOutput, as: UTF8.self)
}

var routes = ""
for index in 0..<prefixes { routes += "  route \(20 + index / 65536).\(index / 256 % 256).\(index % 256).0/24 blackhole;\n" }
try routes.write(toFile: directory + "/routes.conf", atomically: true, encoding: .utf8)
try """
    log "\(directory)/bird.log" { warning, error, fatal };
    router id 10.100.0.1;
    protocol device { }
    protocol static generated {
      ipv4;
    include "\(directory)/routes.conf";
    }
    protocol bgp agent {
      local 10.100.0.1 as 65001; neighbor 10.100.0.2 as 64512; passive on;
      ipv4 { import none; export where source = RTS_STATIC; next hop self; };
    }

    """.write(toFile: directory + "/bird.conf", atomically: true, encoding: .utf8)
try """
    {"bgp":{"asNumber":64512,"nodeToNodeMeshEnabled":true,"listenPort":179,"holdTime":90,"gracefulRestartTime":\(gracefulRestartTime),"connectRetryTime":1},
     "peers":[{"peerIP":"10.100.0.1","asNumber":65001}]}
    """.write(toFile: directory + "/calico.json", atomically: true, encoding: .utf8)

@MainActor func oneRun(_ run: Int) throws -> (established: Double, installed: Double, almost: Double) {
    let names = ["\(tag)-bird-\(run)", "\(tag)-node-\(run)"]
    let bird = try NetworkNamespace.create(name: names[0])
    let node = try NetworkNamespace.create(name: names[1])
    var processes: [RunningProcess] = []
    defer {
        for process in processes { _ = process.terminate(graceMilliseconds: 3_000) }
        for name in names { try? NetworkNamespace.delete(name: name) }
    }
    try ip(bird, ["link", "add", "swbench0", "type", "veth", "peer", "name", "swbench1", "netns", names[1]])
    try ip(bird, ["addr", "add", "10.100.0.1/24", "dev", "swbench0"])
    try ip(bird, ["link", "set", "swbench0", "up"])
    try ip(node, ["addr", "add", "10.100.0.2/24", "dev", "swbench1"])
    try ip(node, ["link", "set", "swbench1", "up"])
    processes.append(try bird.launchProcess(
        "/usr/sbin/bird", arguments: ["-f", "-c", directory + "/bird.conf", "-s", directory + "/bird-\(run).ctl"],
        standardError: .file(directory + "/bird.stderr")))
    // Let bird load its table before the agent connects (as bgp-bench mode A).
    Thread.sleep(forTimeInterval: 2)
    let start = ContinuousClock.now
    processes.append(try node.launchProcess(
        agentPath,
        arguments: ["--node", "bench", "--config", directory + "/calico.json", "--store", "file:\(directory)/store-\(run)",
                    "--address", "10.100.0.2", "--listen", "127.0.0.1:9099", "--state-dir", directory + "/state-\(run)"] + (verbose ? ["--log-level", "trace"] : []),
        standardError: .file(directory + "/agent-\(run).log")))
    var established: ContinuousClock.Instant?
    while established == nil {
        guard ContinuousClock.now - start < .seconds(30) else {
            let log = (try? String(contentsOfFile: directory + "/agent-\(run).log", encoding: .utf8)) ?? ""
            let birdLog = ((try? String(contentsOfFile: directory + "/bird.log", encoding: .utf8)) ?? "")
                + ((try? String(contentsOfFile: directory + "/bird.stderr", encoding: .utf8)) ?? "")
            throw BenchError(description: "no Established within 30 s\nagent:\n\(log.suffix(3000))\nbird:\n\(birdLog.suffix(2000))")
        }
        let output = try node.runProcess("/usr/bin/curl", arguments: ["-s", "http://127.0.0.1:9099/status"], timeoutMilliseconds: 5_000)
        if String(decoding: output.standardOutput, as: UTF8.self).contains("\"Established\"") { established = .now } else {
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
    let netlink = try NetlinkHandle(namespace: node)
    var almost: ContinuousClock.Instant?
    while true {
        let count = try netlink.routes(family: .v4, protocolTag: Route.ProtocolTag(186)).count
        if almost == nil, count * 100 >= prefixes * 99 { almost = .now }
        if count >= prefixes { break }
        guard ContinuousClock.now - established! < .seconds(120) else { throw BenchError(description: "only \(count) routes after 120 s") }
        Thread.sleep(forTimeInterval: pollSeconds)
    }
    let done = ContinuousClock.now
    if verbose {
        let log = (try? String(contentsOfFile: directory + "/agent-\(run).log", encoding: .utf8)) ?? ""
        print(log.split(separator: "\n").suffix(40).joined(separator: "\n"))
    }
    func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
    return (milliseconds(established! - start), milliseconds(done - established!), milliseconds(almost! - established!))
}

var results: [Double] = []
do {
    for run in 0..<runs {
        let (established, installed, almost) = try oneRun(run)
        print(String(format: "run %d: Established after %.0f ms; 99%% of the routes in the kernel after %.0f ms, all %d after %.0f ms", run + 1, established, almost, prefixes, installed))
        results.append(installed)
    }
    let sorted = results.sorted()
    print(String(format: "median: %.0f ms (Established -> all routes installed, proto bgp)", sorted[sorted.count / 2]))
} catch {
    FileHandle.standardError.write(Data("\(error)\n".utf8))
}
try? FileManager.default.removeItem(atPath: directory)
