import Foundation

/// The results of `compare` as rows (one per figure) × columns (one per plugin): text for
/// people, a document for `--json` (its shape is in Documentation/cnilab.md).
public struct ComparisonTable: Sendable {
    public var results: [ComparisonFigures]

    public init(results: [ComparisonFigures]) { self.results = results }

    public enum Value: Encodable, Sendable {
        case number(Double)
        case flag(Bool)
        /// A figure that is not one number, e.g. `13/13` (a string in JSON).
        case text(String)
        case missing

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .number(let value): try container.encode((value * 1000).rounded() / 1000)
            case .flag(let value): try container.encode(value)
            case .text(let value): try container.encode(value)
            case .missing: try container.encodeNil()
            }
        }

        public var text: String {
            switch self {
            case .number(let value):
                if value == value.rounded() || value >= 100 { String(format: "%.0f", value) }
                else if value >= 10 { String(format: "%.1f", value) }
                else if value >= 1 { String(format: "%.2f", value) }
                else { String(format: "%.3f", value) }
            case .flag(let value): value ? "yes" : "no"
            case .text(let value): value
            case .missing: "failed"
            }
        }
    }

    public struct Row: Encodable, Sendable {
        public var name: String
        public var label: String
        public var unit: String
        public var values: [String: Value]
    }

    public struct Document: Encodable, Sendable {
        public var plugins: [String]
        public var rows: [Row]
        public var errors: [String: [String]]
    }

    public var rows: [Row] {
        func row(_ name: String, _ label: String, _ unit: String, _ value: (ComparisonFigures) -> Value) -> Row {
            Row(name: name, label: label, unit: unit, values: Dictionary(uniqueKeysWithValues: results.map { ($0.plugin, value($0)) }))
        }
        func number(_ value: Double?) -> Value { value.map(Value.number) ?? .missing }
        return [
            row("pod_add_median_ms", "pod ADD, median", "ms") { number($0.addMedianMilliseconds) },
            row("pod_del_median_ms", "pod DEL, median", "ms") { number($0.deleteMedianMilliseconds) },
            row("tcp_throughput_gbps", "cross-node TCP throughput", "Gbit/s") { number($0.throughputGbps) },
            row("rtt_ms", "cross-node round-trip time", "ms") { number($0.roundTripMilliseconds) },
            row("node_join_convergence_s", "converged after a node joins", "s") { number($0.convergenceSeconds) },
            row("network_policy_enforced", "NetworkPolicy enforced (probed)", "") { $0.enforcesPolicy.map(Value.flag) ?? .missing },
            row("traffic_encrypted_on_wire", "traffic encrypted on the wire (checked by capture)", "") {
                $0.encryptedOnWire.map(Value.flag) ?? .missing
            },
            row("policy_enforced_after_s", "deny policy effective after", "s") { number($0.policyEnforcementSeconds) },
            row("netpol_e2e_cases_passed", "upstream NetworkPolicy e2e cases passed (cnilab netpol)", "") { result in
                guard let passed = result.netpolCasesPassed, let run = result.netpolCasesRun else { return .missing }
                return .text("\(passed)/\(run)")
            },
            row("pod_mtu", "pod MTU", "bytes") { number($0.podMTU.map(Double.init)) },
            row("underlay_mtu", "underlay MTU", "bytes") { number($0.underlayMTU.map(Double.init)) },
            row("encapsulation_overhead_bytes", "encapsulation overhead (underlay − pod MTU)", "bytes") { result in
                guard let pod = result.podMTU, let underlay = result.underlayMTU else { return .missing }
                return .number(Double(underlay - pod))
            },
            row("agent_rss_mib", "agent memory (RSS of its process tree, per node)", "MiB") { number($0.agentMemoryMebibytes) },
            row("lab_up_s", "2-node lab up", "s") { number($0.labUpSeconds) },
        ]
    }

    public var document: Document {
        Document(
            plugins: results.map(\.plugin), rows: rows,
            errors: Dictionary(uniqueKeysWithValues: results.filter { !$0.errors.isEmpty }.map { ($0.plugin, $0.errors) }))
    }

    /// A Markdown table (readable in a terminal, pasteable in the docs).
    public var text: String {
        let plugins = results.map(\.plugin)
        var lines = ["| | " + plugins.joined(separator: " | ") + " |", "|---|" + plugins.map { _ in "---:|" }.joined()]
        for row in rows {
            let label = row.unit.isEmpty ? row.label : "\(row.label) (\(row.unit))"
            var cells: [String] = []
            for plugin in plugins {
                let value = row.values[plugin] ?? .missing
                // No enforcement: the time to enforce does not apply.
                if row.name == "policy_enforced_after_s" || row.name == "netpol_e2e_cases_passed", case .missing = value,
                    results.first(where: { $0.plugin == plugin })?.enforcesPolicy == false
                {
                    cells.append("–")
                } else {
                    cells.append(value.text)
                }
            }
            lines.append("| \(label) | " + cells.joined(separator: " | ") + " |")
        }
        for result in results where !result.errors.isEmpty {
            lines.append("")
            lines += result.errors.map { "\(result.plugin): \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}
