import ArgumentParser
import LabMeasurement
import LabProfiles

extension Bench {
    struct Datapath: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "datapath",
            abstract: "Cross-node pod-to-pod TCP throughput, RTT and CPU per Gbit/s of flannel, weave (fast path, sleeve, encrypted sleeve) and hand-built references in one run.",
            discussion: """
                Modes (--modes, comma-separated; default all): \(DatapathMode.allCases.map(\.rawValue).joined(separator: ", ")). \
                flannel is compared with flannel-baseline (its kernel objects built by hand, MTU 1450); weave-fast with vxlan (a \
                kernel VXLAN on UDP 6784 built by hand); weave-encrypted with wireguard-go and tinc (user-space encrypted \
                tunnels between the same two nodes). The weave modes and their references give pods weave's MTU. Each round \
                runs every mode once, so load hits all alike; the table gives medians over the rounds and ratios as medians \
                of per-round ratios. CPU per Gbit/s is CPU seconds per Gbit moved: machine (all cores' busy time from \
                /proc/stat), processes (both iperf3 ends and the mode's daemons), softirq (machine-wide).
                """)
        @OptionGroup var options: LabOptions
        @Option var backend = FlannelBackend.vxlan
        @Option(help: "iperf3 seconds per run.") var seconds = 3
        @Option(help: "Comma-separated modes to measure (default: all).") var modes: String?
        @Option(help: "Rounds; each runs every mode once.") var rounds = 1
        @Option(help: "Pings per mode and round.") var pings = 20
        @Flag var json = false

        func run() async throws {
            let benchmark = DatapathBenchmark(
                lab: options.lab, backend: backend, seconds: seconds, modes: try DatapathMode.parseList(modes), rounds: rounds,
                pings: pings, progress: { Output.progress($0) })
            try Bench.show(try await benchmark.run(), json: json)
        }
    }
}
