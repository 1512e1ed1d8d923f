import ArgumentParser
import LabMeasurement
import LabProfiles

extension Bench {
    struct Datapath: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "datapath",
            abstract: "Cross-node pod-to-pod TCP throughput and RTT: flannel against a hand-built kernel baseline of the same topology and MTU.")
        @OptionGroup var options: LabOptions
        @Option var backend = FlannelBackend.vxlan
        @Option(help: "iperf3 seconds per run.") var seconds = 3
        @Flag var json = false

        func run() async throws {
            let benchmark = DatapathBenchmark(lab: options.lab, backend: backend, seconds: seconds, progress: { Output.progress($0) })
            try Bench.show(try await benchmark.run(), json: json)
        }
    }
}
