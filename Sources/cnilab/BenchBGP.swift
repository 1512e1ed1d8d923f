import ArgumentParser
import BGPBenchmark
import Foundation
import LabMeasurement

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
            try Bench.show(try await LabBench.bgp(options, log: { Output.progress($0) }), json: json)
        }
    }
}
