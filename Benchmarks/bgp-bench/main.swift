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
import BGPBenchmark

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

extension BGPBenchmark.Options {
    static func parse() -> BGPBenchmark.Options {
        var options = BGPBenchmark.Options()
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--prefixes": options.prefixes = Int(arguments.next() ?? "") ?? options.prefixes
            case "--runs": options.runs = Int(arguments.next() ?? "") ?? options.runs
            case "--bird-connects": options.birdConnects = true
            case "--stream": options.stream = true
            case "--announce-after-established": options.announceAfterEstablished = true
            case "--pause-ms": options.pauseMilliseconds = Int(arguments.next() ?? "") ?? options.pauseMilliseconds
            case "--receiver":
                let value = arguments.next() ?? "both"
                options.receivers = value == "both" ? ["swift", "gobgp"] : [value]
            default:
                printError("usage: bgp-bench [--prefixes N] [--runs R] [--receiver swift|gobgp|both] [--bird-connects] [--announce-after-established] [--pause-ms MS] [--stream]")
                exit(2)
            }
        }
        return options
    }
}

let options = BGPBenchmark.Options.parse()
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
