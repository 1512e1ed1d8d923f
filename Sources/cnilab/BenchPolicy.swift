import ArgumentParser
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
            let report = try await benchmark.run()
            guard json else { return print(report) }
            typealias Report = PolicyEnforcerBenchmark.Report
            let totals = report.libraryApply.indices.map { report.compileProgram[$0] + report.lowering[$0] + report.libraryApply[$0] }
            let nft = Report.median(report.nftApply)
            func metric(_ name: String, _ ours: Double, _ reference: Double) -> Document.Metric {
                .init(name: name, ours: ours, reference: reference, speedup: ours == 0 ? 0 : reference / ours)
            }
            // The reference of every figure is `nft -f` loading the full rule set: the label
            // and policy changes show what the incremental path saves against a full reload.
            try Output.json(
                Document(
                    scenario: "policy",
                    metrics: [
                        metric("full_compile_apply_median_ms", Report.median(totals), nft),
                        metric("full_apply_median_ms", Report.median(report.libraryApply), nft),
                        metric("peer_label_change_median_ms", Report.median(report.peerLabelChange), nft),
                        metric("selected_label_change_median_ms", Report.median(report.selectedLabelChange), nft),
                        metric("policy_change_median_ms", Report.median(report.policyChange), nft),
                    ]))
        }
    }
}
