// bgp-bench: how long a receiver needs to take 100,000 IPv4 prefixes from bird2.
//
// Usage (root): bgp-bench [--prefixes N] [--runs R] [--receiver swift|gobgp|both] [--bird-connects]
//
// By default bird is passive and the receiver opens the TCP connection; with --bird-connects
// the receiver is passive and bird connects.
//
// Per run, two fresh network namespaces joined by a veth pair: bird2 (AS 65001, 10.100.0.1) announces
// N /24 blackhole routes from a static protocol; the receiver (AS 65002, 10.100.0.2) is either
// this package's BGPSpeaker (in process, sockets created in the namespace) or gobgpd. One
// receiver at a time. Measured: from the first poll that shows the session Established to the
// first poll that shows all N prefixes (BGPSpeaker: Loc-RIB count, polled every 2 ms; gobgpd:
// `gobgp -p PORT neighbor IP -j` received count, polled every 50 ms as the testbed did).
// With --announce-after-established bird starts with its routes disabled and the clock starts
// when they are enabled after Established (see Documentation/Performance-BGP.md for why).
// Prints each run and the median. Namespaces and processes are removed afterwards.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import BGPBenchmark

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

struct Arguments: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bgp-bench")

    enum Receiver: String, CaseIterable, ExpressibleByArgument {
        case swift, gobgp, both
    }

    @Option(help: "Prefixes bird2 announces.") var prefixes: Int?
    @Option(help: "Runs per receiver.") var runs: Int?
    @Option(help: "swift, gobgp or both.") var receiver: Receiver = .both
    @Flag(help: "The receiver is passive and bird connects.") var birdConnects = false
    @Flag(help: "Stream the receiver's updates.") var stream = false
    @Flag(help: "Start the clock when bird enables its routes after Established.") var announceAfterEstablished = false
    @Option(name: .customLong("pause-ms"), help: "Pause between runs in milliseconds.") var pauseMilliseconds: Int?

    func validate() throws {
        if let prefixes, prefixes < 1 { throw ValidationError("--prefixes must be at least 1") }
        if let runs, runs < 1 { throw ValidationError("--runs must be at least 1") }
        if let pauseMilliseconds, pauseMilliseconds < 0 { throw ValidationError("--pause-ms must not be negative") }
    }

    var options: BGPBenchmark.Options {
        var options = BGPBenchmark.Options()
        if let prefixes { options.prefixes = prefixes }
        if let runs { options.runs = runs }
        options.birdConnects = birdConnects
        options.stream = stream
        options.announceAfterEstablished = announceAfterEstablished
        if let pauseMilliseconds { options.pauseMilliseconds = pauseMilliseconds }
        options.receivers = receiver == .both ? ["swift", "gobgp"] : [receiver.rawValue]
        return options
    }
}

let options = Arguments.parseOrExit().options
do {
    let report = try await BGPBenchmark.run(options) { line in
        if line.hasPrefix("swift run") || line.hasPrefix("gobgp run") { print(line) } else { printError(line) }
    }
    for (receiver, values) in report.runs.sorted(by: { $0.key > $1.key }) {
        let sorted = values.sorted()
        print("RESULT \(receiver): median \(Int(sorted[sorted.count / 2].rounded())) ms over \(values.count) runs, \(report.prefixes) prefixes (\(sorted.map { Int($0.rounded()) }))")
    }
} catch {
    printError("benchmark failed: \(error)")
    exit(1)
}
