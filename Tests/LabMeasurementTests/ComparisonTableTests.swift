import Foundation
import LabMeasurement
import Testing

/// The table `cnilab compare` prints, and its `--json` document (Documentation/cnilab.md).
struct ComparisonTableTests {
    static func results() -> [ComparisonFigures] {
        var flannel = ComparisonFigures(plugin: "flannel")
        flannel.labUpSeconds = 2.5
        flannel.addMedianMilliseconds = 123.4567
        flannel.deleteMedianMilliseconds = 45
        flannel.podMTU = 1450
        flannel.underlayMTU = 1500
        flannel.enforcesPolicy = false
        flannel.errors = ["datapath: iperf3 gave no result"]
        var canal = ComparisonFigures(plugin: "canal")
        canal.addMedianMilliseconds = 0.12345
        canal.enforcesPolicy = true
        canal.policyEnforcementSeconds = 0.5
        canal.netpolCasesPassed = 2
        canal.netpolCasesRun = 2
        canal.podMTU = 1450
        canal.underlayMTU = 1500
        canal.encryptedOnWire = false
        return [flannel, canal]
    }

    @Test func rowsAreTheDocumentedOnesInOrder() {
        let table = ComparisonTable(results: Self.results())
        #expect(table.rows.map(\.name) == [
            "pod_add_median_ms", "pod_del_median_ms", "tcp_throughput_gbps", "rtt_ms", "node_join_convergence_s",
            "network_policy_enforced", "traffic_encrypted_on_wire", "policy_enforced_after_s", "netpol_e2e_cases_passed", "pod_mtu", "underlay_mtu",
            "encapsulation_overhead_bytes", "agent_rss_mib", "lab_up_s",
        ])
    }

    @Test func jsonDocument() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(ComparisonTable(results: Self.results()).document), as: UTF8.self)
        #expect(text.hasPrefix(#"{"errors":{"flannel":["datapath: iperf3 gave no result"]},"plugins":["flannel","canal"],"rows":["#))
        // Numbers rounded to 3 decimals, a failed figure null, the e2e count a string.
        #expect(text.contains(#"{"label":"pod ADD, median","name":"pod_add_median_ms","unit":"ms","values":{"canal":0.123,"flannel":123.457}}"#))
        #expect(text.contains(#""name":"rtt_ms","unit":"ms","values":{"canal":null,"flannel":null}"#))
        #expect(text.contains(#""name":"netpol_e2e_cases_passed","unit":"","values":{"canal":"2/2","flannel":null}"#))
        #expect(text.contains(#""name":"encapsulation_overhead_bytes","unit":"bytes","values":{"canal":50,"flannel":50}"#))
        #expect(text.contains(#""name":"network_policy_enforced","unit":"","values":{"canal":true,"flannel":false}"#))
    }

    @Test func markdownText() {
        let lines = ComparisonTable(results: Self.results()).text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "| | flannel | canal |")
        #expect(lines[1] == "|---|---:|---:|")
        #expect(lines.contains("| pod ADD, median (ms) | 123 | 0.123 |"))
        #expect(lines.contains("| pod DEL, median (ms) | 45 | failed |"))
        // No enforcement: the time to enforce does not apply ("–"), unlike a failed figure.
        #expect(lines.contains("| deny policy effective after (s) | – | 0.500 |"))
        #expect(lines.contains("| upstream NetworkPolicy e2e cases passed (cnilab netpol) | – | 2/2 |"))
        #expect(lines.contains("| NetworkPolicy enforced (probed) | no | yes |"))
        #expect(lines.contains("| traffic encrypted on the wire (checked by capture) | failed | no |"))
        #expect(lines.contains("| 2-node lab up (s) | 2.50 | failed |"))
        #expect(lines.suffix(2) == ["", "flannel: datapath: iperf3 gave no result"])
    }

    @Test func valueFormatting() {
        #expect(ComparisonTable.Value.number(1234.5).text == "1234")
        #expect(ComparisonTable.Value.number(12.34).text == "12.3")
        #expect(ComparisonTable.Value.number(3).text == "3")
        #expect(ComparisonTable.Value.number(0.04567).text == "0.046")
        #expect(ComparisonTable.Value.missing.text == "failed")
    }
}
