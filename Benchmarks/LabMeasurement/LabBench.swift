import BGPBenchmark
import ChildProcess
import Foundation
import IPAMBenchmark
import Lab
import NetlinkBenchmark
import PolicyEnforcerBenchmark

/// The benchmarks `cnilab bench` runs in process (the benchmark libraries of Benchmarks/),
/// each as a ``BenchOutput``. Run as root; they create and remove their own namespaces.
public enum LabBench {
    /// The Netlink library's batch path against `ip -batch` (routes, veth pairs).
    public static func netlink(routes: Int, veths: Int) throws -> BenchOutput {
        let measurements = try NetlinkBenchmark.run(routes: routes, veths: veths)
        let document = BenchDocument(
            scenario: "netlink",
            metrics: measurements.map {
                BenchDocument.Metric(
                    name: BenchDocument.metricName($0.name), ours: BenchDocument.milliseconds($0.library),
                    reference: BenchDocument.milliseconds($0.ipBatch), speedup: $0.ratio)
            })
        return BenchOutput(text: measurements.map(\.description).joined(separator: "\n"), document: document)
    }

    /// `name` in `directories` first, then next to the program (or in `CNILAB_BIN_DIR`);
    /// `missingExecutable` saying "`name` not found …; `advice`" when it is nowhere.
    public static func executable(_ name: String, in directories: [String] = [], advice: String) throws -> String {
        let all = directories + LabConfiguration.defaultExecutableDirectories
        guard let path = ChildProcess.find(name, in: all) else {
            throw LabError(.missingExecutable, "\(name) not found in \(all.joined(separator: ":")); \(advice)")
        }
        return path
    }

    /// ADD latency of swift-ipam (host-local and block modes) against the reference host-local.
    public static func ipam(_ options: IPAMBenchmark.Options) throws -> BenchOutput {
        let report = try IPAMBenchmark.run(options)
        func metric(_ name: String, _ ours: [Double], _ reference: [Double], _ fraction: Double) -> BenchDocument.Metric {
            let (mine, theirs) = (IPAMBenchmark.percentile(ours, fraction), IPAMBenchmark.percentile(reference, fraction))
            return .init(name: name, ours: mine, reference: theirs, speedup: mine == 0 ? 0 : theirs / mine)
        }
        let (reference, swift, block) = (report.reference, report.swiftHostLocal, report.swiftBlock)
        let document = BenchDocument(
            scenario: "ipam",
            metrics: [
                metric("add_sequential_median_ms", swift.sequential, reference.sequential, 0.5),
                metric("add_sequential_p95_ms", swift.sequential, reference.sequential, 0.95),
                metric("add_parallel_median_ms", swift.concurrent, reference.concurrent, 0.5),
                metric("add_parallel_p95_ms", swift.concurrent, reference.concurrent, 0.95),
                // Block mode (Calico-like, datastore-backed) against the same host-local reference.
                metric("block_add_sequential_median_ms", block.sequential, reference.sequential, 0.5),
                metric("block_add_parallel_median_ms", block.concurrent, reference.concurrent, 0.5),
            ])
        return BenchOutput(text: report.description, document: document)
    }

    /// bird2 announces N prefixes; time from Established until the receiver has them all:
    /// BGPSpeaker (in process) against gobgpd. `log` hears progress lines.
    public static func bgp(_ options: BGPBenchmark.Options, log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> BenchOutput {
        let report = try await BGPBenchmark.run(options, log: log)
        let ours = report.median("swift") ?? 0
        let reference = report.median("gobgp") ?? 0
        let document = BenchDocument(
            scenario: "bgp",
            metrics: [
                .init(
                    name: "established_to_all_prefixes_median_ms", ours: ours, reference: reference,
                    speedup: ours == 0 || reference == 0 ? 0 : reference / ours)
            ])
        return BenchOutput(text: bgpText(prefixes: report.prefixes, runs: report.runs), document: document)
    }

    /// The table of `cnilab bench bgp`: per receiver its median and every run (ms), then the ratio.
    public static func bgpText(prefixes: Int, runs: [String: [Double]]) -> String {
        func median(_ name: String) -> Double? {
            guard let values = runs[name], !values.isEmpty else { return nil }
            return values.sorted()[values.count / 2]
        }
        var lines = ["receiver   median ms   runs (ms)"]
        for (name, values) in runs.sorted(by: { $0.key > $1.key }) {
            let label = name == "swift" ? "BGPSpeaker" : "gobgpd"
            lines.append(
                label.padding(toLength: 11, withPad: " ", startingAt: 0)
                    + String(Int((median(name) ?? 0).rounded())).padding(toLength: 12, withPad: " ", startingAt: 0)
                    + values.map { String(Int($0.rounded())) }.joined(separator: ", "))
        }
        let (ours, reference) = (median("swift") ?? 0, median("gobgp") ?? 0)
        if ours > 0, reference > 0 { lines.append("gobgpd / BGPSpeaker: \(String(format: "%.1f", reference / ours))x (\(prefixes) prefixes)") }
        return lines.joined(separator: "\n")
    }

    /// The policy enforcer: compile and apply a synthetic cluster's rules against `nft -f` of
    /// the same text, and label and policy changes.
    public static func policy(_ benchmark: PolicyEnforcerBenchmark) async throws -> BenchOutput {
        let report = try await benchmark.run()
        typealias Report = PolicyEnforcerBenchmark.Report
        let totals = report.libraryApply.indices.map { report.compileProgram[$0] + report.lowering[$0] + report.libraryApply[$0] }
        let nft = Report.median(report.nftApply)
        // The reference of every figure is `nft -f` loading the full rule set: the label
        // and policy changes show what the incremental path saves against a full reload.
        let document = BenchDocument(
            scenario: "policy",
            metrics: [
                .time("full_compile_apply_median_ms", ours: Report.median(totals), reference: nft),
                .time("full_apply_median_ms", ours: Report.median(report.libraryApply), reference: nft),
                .time("peer_label_change_median_ms", ours: Report.median(report.peerLabelChange), reference: nft),
                .time("selected_label_change_median_ms", ours: Report.median(report.selectedLabelChange), reference: nft),
                .time("policy_change_median_ms", ours: Report.median(report.policyChange), reference: nft),
            ])
        return BenchOutput(text: report.description, document: document)
    }
}
