import Foundation

/// One measurement of one mode in one round.
public struct DatapathSample: Sendable, Equatable, Codable {
    public var round: Int
    public var mode: DatapathMode
    public var podMTU: Int
    public var throughputGbps: Double
    public var roundTripMilliseconds: Double
    public var cpu: TransferCPU

    public init(round: Int, mode: DatapathMode, podMTU: Int, throughputGbps: Double, roundTripMilliseconds: Double, cpu: TransferCPU) {
        self.round = round
        self.mode = mode
        self.podMTU = podMTU
        self.throughputGbps = throughputGbps
        self.roundTripMilliseconds = roundTripMilliseconds
        self.cpu = cpu
    }
}

/// The figures of a `cnilab bench datapath` run: medians per mode over the rounds and the
/// issue's ratios as medians of per-round ratios (pure: tested without a lab).
public struct DatapathReport: Sendable {
    public var samples: [DatapathSample]
    /// Failures, per mode and round ("round 2 tinc: …").
    public var errors: [String]
    /// The run's settings, for the heading.
    public var modes: [DatapathMode]
    public var rounds: Int
    public var seconds: Int
    public var pings: Int
    /// Free text printed under the heading (MTU policy, load average).
    public var notes: [String]

    public init(samples: [DatapathSample], errors: [String], modes: [DatapathMode], rounds: Int, seconds: Int, pings: Int, notes: [String] = []) {
        self.samples = samples
        self.errors = errors
        self.modes = modes
        self.rounds = rounds
        self.seconds = seconds
        self.pings = pings
        self.notes = notes
    }

    public static func median(_ values: [Double]) -> Double? {
        let sorted = values.filter { $0.isFinite }.sorted()
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    func values(_ mode: DatapathMode, _ figure: (DatapathSample) -> Double?) -> [Double] {
        samples.filter { $0.mode == mode }.compactMap(figure)
    }

    /// The median of `figure` over the rounds of `mode`.
    public func median(_ mode: DatapathMode, _ figure: (DatapathSample) -> Double?) -> Double? {
        Self.median(values(mode, figure))
    }

    /// The median over rounds of `figure(mode) ÷ figure(reference)`, each round's pair from
    /// the same round (rounds where either failed are left out).
    public func ratio(_ mode: DatapathMode, _ reference: DatapathMode, _ figure: (DatapathSample) -> Double?) -> Double? {
        var ratios: [Double] = []
        for round in Set(samples.map(\.round)) {
            guard let ours = samples.first(where: { $0.round == round && $0.mode == mode }).flatMap(figure),
                let theirs = samples.first(where: { $0.round == round && $0.mode == reference }).flatMap(figure), theirs > 0
            else { continue }
            ratios.append(ours / theirs)
        }
        return Self.median(ratios)
    }

    static let throughput: @Sendable (DatapathSample) -> Double? = { $0.throughputGbps }
    static let roundTrip: @Sendable (DatapathSample) -> Double? = { $0.roundTripMilliseconds > 0 ? $0.roundTripMilliseconds : nil }
    static let machineCPU: @Sendable (DatapathSample) -> Double? = { $0.cpu.machinePerGigabit }
    static let processCPU: @Sendable (DatapathSample) -> Double? = { $0.cpu.processPerGigabit }
    static let softirqCPU: @Sendable (DatapathSample) -> Double? = { $0.cpu.softirqPerGigabit }

    /// The `--json` document: for each mode `<mode>_tcp_throughput_gbps`, `_rtt_ms`,
    /// `_cpu_machine_s_per_gbit`, `_cpu_processes_s_per_gbit`, `_cpu_softirq_s_per_gbit`
    /// (ours: the mode's median; reference: its reference mode's median, or its own for a
    /// reference; speedup: the median per-round ratio, > 1 better); then
    /// `ratio_<mode>_vs_<reference>_tcp_throughput` for the ratios; and, when flannel
    /// was measured, the earlier `tcp_throughput_gbps` and `rtt_ms` (flannel against its baseline).
    public var document: BenchDocument {
        var metrics: [BenchDocument.Metric] = []
        let figures: [(String, (DatapathSample) -> Double?, Bool)] = [
            ("tcp_throughput_gbps", Self.throughput, true), ("rtt_ms", Self.roundTrip, false),
            ("cpu_machine_s_per_gbit", Self.machineCPU, false), ("cpu_processes_s_per_gbit", Self.processCPU, false),
            ("cpu_softirq_s_per_gbit", Self.softirqCPU, false),
        ]
        func metric(_ name: String, _ mode: DatapathMode, _ reference: DatapathMode, _ figure: (DatapathSample) -> Double?, higherIsBetter: Bool) -> BenchDocument.Metric? {
            guard let ours = median(mode, figure) else { return nil }
            let theirs = median(reference, figure) ?? 0
            let speedup = mode == reference ? 1 : ratio(mode, reference, figure).map { higherIsBetter ? $0 : ($0 > 0 ? 1 / $0 : 0) } ?? 0
            return BenchDocument.Metric(name: name, ours: ours, reference: theirs, speedup: speedup)
        }
        if modes.contains(.flannel) {
            for (name, figure, higher) in figures.prefix(2) {
                if let row = metric(name, .flannel, .flannelBaseline, figure, higherIsBetter: higher) { metrics.append(row) }
            }
        }
        for mode in modes {
            let key = mode.rawValue.replacingOccurrences(of: "-", with: "_")
            for (name, figure, higher) in figures {
                if let row = metric("\(key)_\(name)", mode, mode.reference ?? mode, figure, higherIsBetter: higher) { metrics.append(row) }
            }
        }
        for (mode, reference) in DatapathMode.ratios where modes.contains(mode) && modes.contains(reference) {
            let key = "ratio_\(mode.rawValue)_vs_\(reference.rawValue)_tcp_throughput".replacingOccurrences(of: "-", with: "_")
            if let row = metric(key, mode, reference, Self.throughput, higherIsBetter: true) { metrics.append(row) }
        }
        return BenchDocument(scenario: "datapath", metrics: metrics)
    }

    /// The table for people.
    public var text: String {
        func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "–" }
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + padding : padding + text
        }
        var lines = [
            "datapath: pod on node 0 → pod on node 1 of 2-node labs; \(rounds) round(s), modes alternated in each; iperf3 \(seconds) s (1 TCP stream), \(pings) pings"
        ]
        lines += notes.map { "  " + $0 }
        lines.append(
            pad("mode", 17, left: true) + pad("MTU", 5) + pad("Gbit/s", 8) + pad("(min..max)", 16) + pad("RTT ms", 8)
                + pad("CPU s/Gbit: machine", 20) + pad("processes", 10) + pad("softirq", 9))
        for mode in modes {
            let gbps = values(mode, Self.throughput)
            let range = gbps.isEmpty ? "" : String(format: "(%.2f..%.2f)", gbps.min()!, gbps.max()!)
            let mtu = samples.first { $0.mode == mode }.map { String($0.podMTU) } ?? "–"
            lines.append(
                pad(mode.rawValue, 17, left: true) + pad(mtu, 5) + pad(number(median(mode, Self.throughput), "%.3f"), 8) + pad(range, 16)
                    + pad(number(median(mode, Self.roundTrip), "%.3f"), 8) + pad(number(median(mode, Self.machineCPU), "%.3f"), 20)
                    + pad(number(median(mode, Self.processCPU), "%.3f"), 10) + pad(number(median(mode, Self.softirqCPU), "%.3f"), 9))
        }
        let pairs = DatapathMode.ratios.filter { modes.contains($0.0) && modes.contains($0.1) }
        if !pairs.isEmpty {
            lines.append("throughput ratios (median of per-round ratios):")
            for (mode, reference) in pairs {
                lines.append("  \(mode) ÷ \(reference): \(number(ratio(mode, reference, Self.throughput), "%.3f"))")
            }
        }
        if !errors.isEmpty {
            lines.append("errors:")
            lines += errors.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}
