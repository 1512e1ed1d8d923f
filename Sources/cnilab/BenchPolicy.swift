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
            // The reference of every figure is `nft -f` loading the full rule set: the label
            // and policy changes show what the incremental path saves against a full reload.
            try Output.json(
                Document(
                    scenario: "policy",
                    metrics: [
                        Document.Metric.time("full_compile_apply_median_ms", ours: Report.median(totals), reference: nft),
                        Document.Metric.time("full_apply_median_ms", ours: Report.median(report.libraryApply), reference: nft),
                        Document.Metric.time("peer_label_change_median_ms", ours: Report.median(report.peerLabelChange), reference: nft),
                        Document.Metric.time("selected_label_change_median_ms", ours: Report.median(report.selectedLabelChange), reference: nft),
                        Document.Metric.time("policy_change_median_ms", ours: Report.median(report.policyChange), reference: nft),
                    ]))
        }
    }
}
