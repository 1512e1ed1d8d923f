import ArgumentParser
import Datastore
import Foundation
import Namespaces
import PolicyAgent

/// policy-agent-bench (run by hand, as root): how fast the PolicyAgent turns store changes into
/// kernel rules. In a throwaway network namespace (`swcni-bench-…`, deleted at the end), with
/// a file store in a temporary directory (watch poll 10 ms): the time from the agent's start to
/// its first reconcile of `--pods` pod records and `--policies` NetworkPolicies, then the time
/// from a store write to the agent's applied update for pod label changes and policy writes.
/// Usage: policy-agent-bench [--pods N] [--policies N] [--rounds N]
struct Options: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policy-agent-bench")

    @Option(help: "Pod records in the store.") var pods = 200
    @Option(help: "NetworkPolicies in the store.") var policies = 50
    @Option(help: "Measured changes of each kind.") var rounds = 30

    func validate() throws {
        guard pods >= 1, policies >= 1, rounds >= 1 else { throw ValidationError("--pods, --policies and --rounds must be at least 1") }
    }
}

@main
enum PolicyAgentBench {
    static func main() async throws {
        let options = Options.parseOrExit()
        let pods = options.pods, policies = options.policies, rounds = options.rounds
        let name = "swcni-bench-pa-\(getpid())"
        let namespace = try NetworkNamespace.create(name: name)
        let directory = NSTemporaryDirectory() + "policy-agent-bench-\(getpid())"
        defer {
            try? NetworkNamespace.delete(name: name)
            try? FileManager.default.removeItem(atPath: directory)
        }
        let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 10, synchronousWrites: false)
        for index in 0..<pods {
            let namespaceName = "ns\(index % 10)"
            try await store.put(
                PolicyStoreKeys.pods + "\(namespaceName)/p\(index)",
                string: #"{"namespace":"\#(namespaceName)","name":"p\#(index)","node":"n1","addresses":["10.90.\#(index / 250).\#(index % 250 + 2)"],"hostInterface":"cali\#(index)"}"#)
            try await store.put(PolicyStoreKeys.podLabels(namespace: namespaceName, name: "p\(index)"), string: #"{"app":"a\#(index % 20)"}"#)
        }
        for index in 0..<policies {
            try await store.put(PolicyStoreKeys.kubernetesPolicy(namespace: "ns\(index % 10)", name: "pol\(index)"), string: policy(index))
        }
        let agent = PolicyAgent(store: store, node: "n1", namespace: namespace, resyncInterval: .seconds(3600))
        let started = ContinuousClock.now
        let task = Task { await agent.run() }
        defer { task.cancel() }
        _ = try await waitForUpdate(agent, after: 0)
        let startup = ContinuousClock.now - started

        var labelLatencies: [Double] = []
        for round in 0..<rounds {
            let before = await agent.appliedUpdates
            let begin = ContinuousClock.now
            // p0 alternates between a label its namespace's policies select (a0) and one they do not (a5).
            let app = round % 2 == 0 ? "a5" : "a0"
            try await store.put(PolicyStoreKeys.podLabels(namespace: "ns0", name: "p0"), string: #"{"app":"\#(app)"}"#)
            try await waitForUpdate(agent, after: before)
            labelLatencies.append(milliseconds(ContinuousClock.now - begin))
        }
        var policyLatencies: [Double] = []
        for round in 0..<rounds {
            let before = await agent.appliedUpdates
            let begin = ContinuousClock.now
            try await store.put(PolicyStoreKeys.kubernetesPolicy(namespace: "ns0", name: "extra\(round)"), string: policy(1000 + round))
            try await waitForUpdate(agent, after: before)
            policyLatencies.append(milliseconds(ContinuousClock.now - begin))
        }
        print("pods=\(pods) policies=\(policies) rounds=\(rounds)")
        print("startup to first reconcile: \(format(milliseconds(startup))) ms")
        print("pod label change -> applied: median \(format(median(labelLatencies))) ms, p90 \(format(percentile(labelLatencies, 0.9))) ms")
        print("policy write -> applied:     median \(format(median(policyLatencies))) ms, p90 \(format(percentile(policyLatencies, 0.9))) ms")
        task.cancel()
    }

    static func policy(_ index: Int) -> String {
        """
        {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"pol\(index)","namespace":"ns\(index % 10)"},
         "spec":{"podSelector":{"matchLabels":{"app":"a\(index % 20)"}},
                 "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"a\((index + 1) % 20)"}}}],"ports":[{"port":\(80 + index % 5)}]}]}}
        """
    }

    @discardableResult
    static func waitForUpdate(_ agent: PolicyAgent, after count: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let current = await agent.appliedUpdates
            if current > count { return current }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw BenchError("no update applied within 60 s")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
    static func median(_ values: [Double]) -> Double { percentile(values, 0.5) }
    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
    static func format(_ value: Double) -> String { String(format: "%.1f", value) }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
