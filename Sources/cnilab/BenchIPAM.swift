import ArgumentParser
import IPAMBenchmark
import LabMeasurement

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
            let binary = try swiftIPAM ?? LabBench.executable("swift-ipam", advice: "build it or pass --swift-ipam PATH")
            var options = IPAMBenchmark.Options(swiftIPAM: binary)
            options.iterations = iterations
            options.parallel = parallel
            options.rounds = rounds
            options.hostLocal = hostLocal
            options.store = store
            try Bench.show(try LabBench.ipam(options), json: json)
        }
    }
}
