import ArgumentParser
import ChildProcess
import IPAMBenchmark
import Lab

extension Bench {
    struct IPAM: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ipam",
            abstract: "ADD latency of swift-ipam (host-local and block modes) against the reference host-local, sequential and parallel.")
        @Option var iterations = 200
        @Option var parallel = 20
        @Option var rounds = 10
        @Option(name: .customLong("swift-ipam"), help: "The swift-ipam binary (default: next to cnilab).") var swiftIPAM: String?
        @Option(name: .customLong("host-local")) var hostLocal = "/usr/lib/cni/host-local"
        @Option(help: "Store of the block mode: file:DIR or etcd:URL (default: a temporary file store).") var store: String?
        @Flag var json = false

        func run() async throws {
            guard let binary = swiftIPAM ?? ChildProcess.find("swift-ipam", in: LabConfiguration.defaultExecutableDirectories) else {
                throw LabError(.missingExecutable, "swift-ipam not found next to cnilab; build it or pass --swift-ipam PATH")
            }
            var options = IPAMBenchmark.Options(swiftIPAM: binary)
            options.iterations = iterations
            options.parallel = parallel
            options.rounds = rounds
            options.hostLocal = hostLocal
            options.store = store
            let report = try IPAMBenchmark.run(options)
            guard json else { return print(report) }
            func metric(_ name: String, _ ours: [Double], _ reference: [Double], _ fraction: Double) -> Document.Metric {
                let (mine, theirs) = (IPAMBenchmark.percentile(ours, fraction), IPAMBenchmark.percentile(reference, fraction))
                return .init(name: name, ours: mine, reference: theirs, speedup: mine == 0 ? 0 : theirs / mine)
            }
            let (reference, swift, block) = (report.reference, report.swiftHostLocal, report.swiftBlock)
            try Output.json(
                Document(
                    scenario: "ipam",
                    metrics: [
                        metric("add_sequential_median_ms", swift.sequential, reference.sequential, 0.5),
                        metric("add_sequential_p95_ms", swift.sequential, reference.sequential, 0.95),
                        metric("add_parallel_median_ms", swift.concurrent, reference.concurrent, 0.5),
                        metric("add_parallel_p95_ms", swift.concurrent, reference.concurrent, 0.95),
                        // Block mode (Calico-like, datastore-backed) against the same host-local reference.
                        metric("block_add_sequential_median_ms", block.sequential, reference.sequential, 0.5),
                        metric("block_add_parallel_median_ms", block.concurrent, reference.concurrent, 0.5),
                    ]))
        }
    }
}
