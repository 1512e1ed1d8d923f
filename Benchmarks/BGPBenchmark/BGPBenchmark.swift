// The bird2 -> receiver benchmark behind `bgp-bench` and `cnilab bench bgp` (see
// Documentation/Performance-BGP.md): how long a receiver needs to take N IPv4 prefixes from
// bird2, BGPSpeaker in process against gobgpd. Needs root; creates and removes its own
// namespaces, processes and temporary directory.
#if canImport(Glibc)
import Glibc
#endif
import BGP
import ChildProcess
import Namespaces
import NetPrimitives

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

func now() -> ContinuousClock.Instant { ContinuousClock.now }

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

func writeFile(_ path: String, _ text: String) throws {
    guard let file = fopen(path, "w") else { throw BenchError(description: "cannot write \(path)") }
    fputs(text, file)
    fclose(file)
}

func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws {
    let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5000)
    guard output.status.isSuccess else { throw BenchError(description: "ip \(arguments): \(output.standardErrorText)") }
}


/// Runs the benchmark. Progress lines go to `log`; nothing is printed.
public enum BGPBenchmark {
    public struct Options: Sendable {
        public var prefixes = 100_000
        public var runs = 5
        /// "swift" (BGPSpeaker in process) and/or "gobgp".
        public var receivers = ["swift", "gobgp"]
        /// Who opens the TCP connection: the receiver (bird passive) or bird (receiver passive).
        public var birdConnects = false
        /// Start bird with its routes disabled and enable them once the session is Established.
        public var announceAfterEstablished = false
        /// Pause between runs.
        public var pauseMilliseconds = 500
        /// Swift receiver: count the prefixes from `bestPathChanges()` instead of polling the Loc-RIB.
        public var stream = false

        public init() {}
    }

    /// Milliseconds from Established to all prefixes, per run, by receiver.
    public struct Report: Sendable {
        public var prefixes: Int
        public var runs: [String: [Double]]

        public func median(_ receiver: String) -> Double? {
            guard let values = runs[receiver], !values.isEmpty else { return nil }
            return values.sorted()[values.count / 2]
        }
    }

    public static func run(_ options: Options, log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Report {
        guard geteuid() == 0 else { throw BenchError(description: "the BGP benchmark needs root (network namespaces)") }
        let session = BenchSession(options: options, log: log)
        defer { session.cleanup() }
        try session.writeBirdConfiguration()
        var results: [String: [Double]] = [:]
        for receiver in options.receivers {
            for run in 1...max(1, options.runs) {
                let lab = try Lab.make(session)
                let value = receiver == "swift" ? try await session.runSwift(lab) : try await session.runGoBGP(lab)
                log("\(receiver) run \(run): \(Int(value.rounded())) ms")
                results[receiver, default: []].append(value)
                try await Task.sleep(for: .milliseconds(options.pauseMilliseconds))
            }
        }
        return Report(prefixes: options.prefixes, runs: results)
    }
}

/// One invocation: its options, namespace names and temporary directory.
final class BenchSession: Sendable {
    let options: BGPBenchmark.Options
    let log: @Sendable (String) -> Void
    let names: [String]
    let directory: String
    var prefixes: Int { options.prefixes }
    var birdConnects: Bool { options.birdConnects }
    var announceLater: Bool { options.announceAfterEstablished }

    init(options: BGPBenchmark.Options, log: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.log = log
        let tag = "swcni-bgpbench-\(getpid())"
        names = ["\(tag)-bird", "\(tag)-recv"]
        var template = Array("/tmp/swcni-bgpbench-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    func cleanup() {
        cleanupNamespaces()
        _ = try? ChildProcess.run("/bin/rm", arguments: ["-rf", directory])
    }

    func cleanupNamespaces() {
        for name in names { try? NetworkNamespace.delete(name: name) }
    }

    func writeBirdConfiguration() throws {
        do {
            var routes = ""
            routes.reserveCapacity(prefixes * 40)
            for index in 0..<prefixes {
                routes += "  route \(20 + index / 65536).\(index / 256 % 256).\(index % 256).0/24 blackhole;\n"
            }
            try writeFile("\(directory)/routes.conf", routes)
            try writeFile("\(directory)/bird.conf", """
                log "\(directory)/bird.log" { warning, error, fatal };
                router id 10.100.0.1;
                protocol device { }
                protocol static generated {
                  ipv4;\(announceLater ? " disabled;" : "")
                include "\(directory)/routes.conf";
                }
                protocol bgp receiver {
                  local 10.100.0.1 as 65001;
                  neighbor 10.100.0.2 as 65002;
                  connect retry time 1; connect delay time 1; \(birdConnects ? "" : "passive on;")
                  ipv4 { import none; export where source = RTS_STATIC; next hop self; };
                }

                """)
        }
    }

    /// Enables the generated routes (announce mode) and returns when birdc did.
    func enableRoutes() throws {
        let output = try ChildProcess.run("/usr/sbin/birdc", arguments: ["-s", "\(directory)/bird.ctl", "enable", "generated"],
                                          timeoutMilliseconds: 5000)
        guard output.status.isSuccess else { throw BenchError(description: "birdc enable failed: \(output.standardOutputText)") }
    }

    func startBird(_ lab: Lab) throws -> RunningProcess {
        try lab.bird.launchProcess(
            "/usr/sbin/bird", arguments: ["-f", "-c", "\(directory)/bird.conf", "-s", "\(directory)/bird.ctl"],
            standardError: .file("\(directory)/bird.stderr"))
    }

    /// CPU time (user + system) of this process so far, in milliseconds.
    func processCPUMilliseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000
    }

    /// One run with the in-process BGPSpeaker as receiver.
    func runSwift(_ lab: Lab) async throws -> Double {
        let namespace = lab.receiver
        let speaker = try BGPSpeaker(
            configuration: .init(localAS: 65002, routerID: IPv4Address(10, 100, 0, 2), listenAddress: .v4(.any),
                                 gracefulRestartTime: 0, socketContext: SocketContext { work in try await namespace.run(work) }),
            peers: [.init(address: "10.100.0.1", asNumber: 65001, passive: birdConnects, holdTime: 90, connectRetryTime: 1, localAddress: "10.100.0.2")])
        try await speaker.start()
        if options.stream { return try await measureStream(speaker, lab) }
        let cpuBefore = processCPUMilliseconds()
        let birdStarted = now()
        let bird = try startBird(lab)
        defer {
            _ = bird.terminate(graceMilliseconds: 3000)
        }
        let deadline = now() + .seconds(120)
        var established: ContinuousClock.Instant?
        var firstRoute: ContinuousClock.Instant?
        var half: ContinuousClock.Instant?
        while now() < deadline {
            if established == nil, await speaker.peerStatus("10.100.0.1")?.state == .established {
                established = now()
                if announceLater { try enableRoutes() }
            }
            let count = await speaker.routeCount()
            if firstRoute == nil, count > 0 { firstRoute = now() }
            if half == nil, count >= prefixes / 2 { half = now() }
            if established != nil, count >= prefixes { break }
            try await Task.sleep(for: .milliseconds(2))
        }
        if let established, let firstRoute, let half {
            log("  established \(Int(milliseconds(established - birdStarted))) ms after bird start, bench process CPU \(Int(processCPUMilliseconds() - cpuBefore)) ms; first route after \(Int(milliseconds(firstRoute - established))) ms, half after \(Int(milliseconds(half - established))) ms")
        }
        let done = now()
        let count = await speaker.routeCount()
        if let status = await speaker.peerStatus("10.100.0.1"), status.establishedTransitions != 1 {
            log("note: session reached Established \(status.establishedTransitions) times; last down: \(status.lastDownReason.map { "\($0)" } ?? "-")")
        }
        await speaker.stop()
        guard let established, count >= prefixes else { throw BenchError(description: "swift: only \(count) prefixes") }
        return milliseconds(done - established)
    }

    /// One run measured on the best-path stream: the session state is polled until Established,
    /// then nothing touches the speaker; the clock stops when the stream delivered all prefixes.
    func measureStream(_ speaker: BGPSpeaker, _ lab: Lab) async throws -> Double {
        let changes = speaker.bestPathChanges()
        let (arrivals, arrival) = AsyncStream<(count: Int, batch: Int, at: ContinuousClock.Instant)>.makeStream()
        let collector = Task {
            var count = 0
            for await batch in changes {
                for change in batch { if case .updated = change { count += 1 } }
                arrival.yield((count, batch.count, ContinuousClock.now))
                if count >= prefixes { break }
            }
            arrival.finish()
        }
        defer { collector.cancel() }
        let watchdog = Task {
            try? await Task.sleep(for: .seconds(30))
            arrival.finish()
        }
        defer { watchdog.cancel() }
        let bird = try startBird(lab)
        defer { _ = bird.terminate(graceMilliseconds: 3000) }
        let deadline = now() + .seconds(60)
        var established: ContinuousClock.Instant?
        while now() < deadline, established == nil {
            if await speaker.peerStatus("10.100.0.1")?.state == .established { established = now() } else {
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        guard let established else { throw BenchError(description: "swift: no Established") }
        if announceLater { try enableRoutes() }
        var last: (count: Int, batch: Int, at: ContinuousClock.Instant)?
        var previous: ContinuousClock.Instant?
        var gaps: [String] = []
        for await item in arrivals {
            if let previous, item.at - previous > .milliseconds(200) {
                gaps.append("\(Int(milliseconds(item.at - previous))) ms gap before a batch of \(item.batch)")
            }
            previous = item.at
            last = item
        }
        await speaker.stop()
        guard let last, last.count >= prefixes else { throw BenchError(description: "swift: stream delivered \(last?.count ?? 0) prefixes") }
        if !gaps.isEmpty { log("  stream: " + gaps.joined(separator: "; ")) }
        return milliseconds(last.at - established)
    }

    /// One run with gobgpd as receiver.
    func runGoBGP(_ lab: Lab) async throws -> Double {
        let path = "\(directory)/gobgpd.toml"
        try writeFile(path, """
            [global.config]
              as = 65002
              router-id = "10.100.0.2"
              port = 179
            [[neighbors]]
              [neighbors.config]
                neighbor-address = "10.100.0.1"
                peer-as = 65001
              [neighbors.transport.config]
                passive-mode = \(birdConnects)
              [[neighbors.afi-safis]]
                [neighbors.afi-safis.config]
                  afi-safi-name = "ipv4-unicast"

            """)
        let gobgpd = try lab.receiver.launchProcess(
            "/usr/bin/gobgpd", arguments: ["-f", path, "-t", "toml", "--api-hosts", "127.0.0.1:50051", "--log-level", "warn"],
            standardOutput: .file("\(directory)/gobgpd.log"), standardError: .file("\(directory)/gobgpd.log"))
        defer { _ = gobgpd.terminate(graceMilliseconds: 3000) }
        try await Task.sleep(for: .milliseconds(500))
        let bird = try startBird(lab)
        defer { _ = bird.terminate(graceMilliseconds: 3000) }
        let deadline = now() + .seconds(120)
        var established: ContinuousClock.Instant?
        var received = 0
        while now() < deadline {
            let output = try lab.receiver.runProcess(
                "/usr/bin/gobgp", arguments: ["-p", "50051", "neighbor", "10.100.0.1", "-j"], timeoutMilliseconds: 5000)
            let text = output.standardOutputText
            let stamp = now()
            if established == nil, text.contains("\"session_state\":6") {
                established = stamp
                if announceLater {
                    established = now()
                    try enableRoutes()
                }
            }
            // `.afi_safis[0].state.received`: the only "received" key followed by a number.
            for part in text.split(separator: "\"received\":", omittingEmptySubsequences: false).dropFirst() {
                if let value = Int(part.prefix { $0.isNumber }) { received = max(received, value) }
            }
            if established != nil, received >= prefixes {
                return milliseconds(stamp - established!)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError(description: "gobgpd: only \(received) prefixes")
    }
}

/// The two namespaces of one run, joined by a veth pair. Every run gets fresh ones, so no
/// kernel state (sockets in TIME_WAIT, caches) carries over from the previous run.
struct Lab {
    let bird: NetworkNamespace
    let receiver: NetworkNamespace

    static func make(_ session: BenchSession) throws -> Lab {
        session.cleanupNamespaces()
        let names = session.names
        let bird = try NetworkNamespace.create(name: names[0])
        let receiver = try NetworkNamespace.create(name: names[1])
        try ip(bird, ["link", "add", "swbench0", "type", "veth", "peer", "name", "swbench1", "netns", names[1]])
        try ip(bird, ["addr", "add", "10.100.0.1/24", "dev", "swbench0"])
        try ip(bird, ["link", "set", "swbench0", "up"])
        try ip(receiver, ["addr", "add", "10.100.0.2/24", "dev", "swbench1"])
        try ip(receiver, ["link", "set", "swbench1", "up"])
        return Lab(bird: bird, receiver: receiver)
    }
}

