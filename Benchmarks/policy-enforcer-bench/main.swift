// Policy enforcer benchmark, run by hand as root (it creates and deletes its own namespace):
//   swift build -c release --product policy-enforcer-bench
//   .build/release/policy-enforcer-bench [endpoints=1000] [policies=500] [rounds=5]
// See Documentation/Performance-PolicyEnforcer.md.
import ArgumentParser
import PolicyEnforcerBenchmark

struct Arguments: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy-enforcer-bench")

    @Argument(help: "Endpoints (default 1000).") var endpoints: Int?
    @Argument(help: "Policies (default 500).") var policies: Int?
    @Argument(help: "Rounds (default 5).") var rounds: Int?

    func validate() throws {
        for (name, value) in [("endpoints", endpoints), ("policies", policies), ("rounds", rounds)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
        }
    }
}

let arguments = Arguments.parseOrExit()
var benchmark = PolicyEnforcerBenchmark()
if let endpoints = arguments.endpoints { benchmark.endpoints = endpoints }
if let policies = arguments.policies { benchmark.policies = policies }
if let rounds = arguments.rounds { benchmark.rounds = rounds }
do {
    print(try await benchmark.run())
} catch {
    print("policy-enforcer-bench: \(error)")
}
