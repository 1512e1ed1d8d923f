// Policy enforcer benchmark, run by hand as root (it creates and deletes its own namespace):
//   swift build -c release --product policy-enforcer-bench
//   .build/release/policy-enforcer-bench [endpoints=1000] [policies=500] [rounds=5]
// See Documentation/Performance-PolicyEnforcer.md.
import PolicyEnforcerBenchmark

let numbers = CommandLine.arguments.dropFirst().compactMap { Int($0) }
var benchmark = PolicyEnforcerBenchmark()
if numbers.count > 0 { benchmark.endpoints = numbers[0] }
if numbers.count > 1 { benchmark.policies = numbers[1] }
if numbers.count > 2 { benchmark.rounds = numbers[2] }
do {
    print(try await benchmark.run())
} catch {
    print("policy-enforcer-bench: \(error)")
}
