import ArgumentParser
import Foundation
import LabMeasurement

extension Bench {
    struct Exec: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run one of the stand-alone benchmarks of Benchmarks/ (built next to cnilab): exec NAME [ARGS…], --list names them.")
        @Flag(help: "List the benchmarks.") var list = false
        @Argument(help: "overlay, calico-bgp, calico-cni, policy-agent, policy-layers or nftables.") var name: String?
        @Argument(parsing: .captureForPassthrough, help: "The benchmark's own arguments.") var arguments: [String] = []

        func run() async throws {
            if list || name == nil {
                for benchmark in ExternalBenchmark.all {
                    print(benchmark.name.padding(toLength: 14, withPad: " ", startingAt: 0) + benchmark.executable + ": " + benchmark.summary)
                }
                return
            }
            let code = try ExternalBenchmark.named(name ?? "").run(arguments: arguments)
            if code != 0 { throw ExitCode(code) }
        }
    }
}
