import ArgumentParser
import BGPBenchmark
import Foundation

extension Bench {
    struct BGP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bgp",
            abstract: "bird2 announces N prefixes; time from Established until the receiver has them all: BGPSpeaker (in process) against gobgpd.")
        @Option var prefixes = 100_000
        @Option var runs = 5
        @Option(help: "swift, gobgp or both.") var receiver = "both"
        @Flag(help: "bird opens the TCP connection (the receiver is passive).") var birdConnects = false
        @Flag(help: "Enable bird's routes only once the session is Established.") var announceAfterEstablished = false
        @Flag(help: "BGPSpeaker: count the prefixes on bestPathChanges() instead of polling the Loc-RIB.") var stream = false
        @Flag var json = false

        func run() async throws {
            var options = BGPBenchmark.Options()
            options.prefixes = prefixes
            options.runs = runs
            options.receivers = receiver == "both" ? ["swift", "gobgp"] : [receiver]
            options.birdConnects = birdConnects
            options.announceAfterEstablished = announceAfterEstablished
            options.stream = stream
            let report = try await BGPBenchmark.run(options) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            let ours = report.median("swift") ?? 0
            let reference = report.median("gobgp") ?? 0
            if json {
                try Output.json(
                    Document(
                        scenario: "bgp",
                        metrics: [
                            .init(
                                name: "established_to_all_prefixes_median_ms", ours: ours, reference: reference,
                                speedup: ours == 0 || reference == 0 ? 0 : reference / ours)
                        ]))
            } else {
                print("receiver   median ms   runs (ms)")
                for (name, values) in report.runs.sorted(by: { $0.key > $1.key }) {
                    let median = report.median(name) ?? 0
                    let label = name == "swift" ? "BGPSpeaker" : "gobgpd"
                    print(label.padding(toLength: 11, withPad: " ", startingAt: 0)
                        + String(Int(median.rounded())).padding(toLength: 12, withPad: " ", startingAt: 0)
                        + values.map { String(Int($0.rounded())) }.joined(separator: ", "))
                }
                if ours > 0, reference > 0 { print("gobgpd / BGPSpeaker: \(String(format: "%.1f", reference / ours))x (\(report.prefixes) prefixes)") }
            }
        }
    }
}
