import ArgumentParser
import LabMeasurement
import PolicyEnforcerBenchmark

extension Bench {
    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "The policy enforcer: compile and apply a synthetic cluster's rules against `nft -f` of the same text, and label changes, in a namespace it creates.")
        @Option var endpoints = 1000
        @Option var policies = 500
        @Option var rounds = 5
        @Flag var json = false

        func run() async throws {
            var benchmark = PolicyEnforcerBenchmark()
            benchmark.endpoints = endpoints
            benchmark.policies = policies
            benchmark.rounds = rounds
            try Bench.show(try await LabBench.policy(benchmark), json: json)
        }
    }
}
