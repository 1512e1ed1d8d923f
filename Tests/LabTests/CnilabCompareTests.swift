import ChildProcess
import Foundation
import Lab
import LabProfiles
import Testing
import TestSupport

/// `cnilab compare --quick --json --plugins flannel,calico,canal` as a subprocess: the document's
/// shape, sane values, the policy verdicts (flannel alone does not enforce, calico and canal
/// do), canal's agent memory counting its swift-flanneld child, and nothing left behind.
@Suite(.serialized) struct CnilabCompareTests {
    let executable = LabTestSupport.productsDirectory + "/cnilab"

    @Test(.privileged) func quickCompareOfFlannelCalicoAndCanal() throws {
        let root = try LabTestSupport.temporaryDirectory()
        let lab = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            for index in 0..<3 { _ = try? Lab.down(name: lab + "cmp\(index)", stateDirectory: directory + "-cmp\(index)") }
            try? FileManager.default.removeItem(atPath: root)
        }
        let output = try ChildProcess.run(
            executable,
            arguments: ["compare", "--quick", "--json", "--plugins", "flannel,calico,canal", "--lab", lab, "--state-dir", directory],
            timeoutMilliseconds: 240_000)
        #expect(output.status.isSuccess, "\(output.standardErrorText)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutputText.utf8)) as? [String: Any])
        #expect(document["plugins"] as? [String] == ["flannel", "calico", "canal"])
        let rows = try #require(document["rows"] as? [[String: Any]])
        var values: [String: [String: Any]] = [:]
        for row in rows {
            let name = try #require(row["name"] as? String)
            #expect(row["label"] is String && row["unit"] is String)
            values[name] = try #require(row["values"] as? [String: Any])
        }
        func number(_ row: String, _ plugin: String) -> Double? { values[row]?[plugin] as? Double }
        #expect((document["errors"] as? [String: Any])?.isEmpty == true, "\(document["errors"] ?? "no errors key")")
        for plugin in ["flannel", "calico", "canal"] {
            let add = number("pod_add_median_ms", plugin) ?? -1
            let delete = number("pod_del_median_ms", plugin) ?? -1
            #expect(add > 0 && add < 10_000 && delete > 0 && delete < 10_000, "\(plugin): ADD \(add) DEL \(delete)")
            let throughput = number("tcp_throughput_gbps", plugin) ?? -1
            #expect(throughput > 0.01 && throughput < 1_000, "\(plugin): \(throughput) Gbit/s")
            let roundTrip = number("rtt_ms", plugin) ?? -1
            #expect(roundTrip > 0 && roundTrip < 100, "\(plugin): RTT \(roundTrip) ms")
            let convergence = number("node_join_convergence_s", plugin) ?? -1
            #expect(convergence > 0 && convergence < 30, "\(plugin): converged in \(convergence) s")
            #expect(number("underlay_mtu", plugin) == 1500)
            let memory = number("agent_rss_mib", plugin) ?? -1
            #expect(memory > 1 && memory < 1_000, "\(plugin): agent RSS \(memory) MiB")
        }
        // VXLAN costs 50 bytes of MTU; calico's routed veths carry no tunnel.
        #expect(number("encapsulation_overhead_bytes", "flannel") == 50)
        #expect(number("encapsulation_overhead_bytes", "calico") == 0)
        #expect(number("encapsulation_overhead_bytes", "canal") == 50)
        // canal's agent is swift-canald plus the swift-flanneld it runs (flannel's whole agent).
        let flannelMemory = number("agent_rss_mib", "flannel") ?? -1
        let canalMemory = number("agent_rss_mib", "canal") ?? -1
        #expect(canalMemory > flannelMemory + 5, "canal \(canalMemory) MiB vs flannel \(flannelMemory) MiB: swift-flanneld not counted?")
        // None of them encrypts: the capture on the fabric reads a ping's marker.
        for plugin in ["flannel", "calico", "canal"] {
            #expect(values["traffic_encrypted_on_wire"]?[plugin] as? Bool == false, "\(plugin)")
        }
        #expect(values["network_policy_enforced"]?["flannel"] as? Bool == false)
        #expect(values["network_policy_enforced"]?["calico"] as? Bool == true)
        #expect(values["network_policy_enforced"]?["canal"] as? Bool == true)
        // Upstream's netpol cases (two of the representative subset under --quick) on the
        // enforcing plugins; flannel has none (null).
        #expect(values["netpol_e2e_cases_passed"]?["calico"] as? String == "2/2")
        #expect(values["netpol_e2e_cases_passed"]?["canal"] as? String == "2/2")
        #expect(values["netpol_e2e_cases_passed"]?["flannel"] is NSNull)
        for index in 0..<3 { #expect(LabTestSupport.namespaces(of: lab + "cmp\(index)").isEmpty) }
    }

    /// `cnilab compare --quick --plugins weave,weave-encrypted`: both columns measured, and the
    /// capture row tells them apart (the secret seals pod traffic on the sleeve).
    @Test(.privileged) func quickCompareOfWeavePlainAndEncrypted() throws {
        let root = try LabTestSupport.temporaryDirectory()
        let lab = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            for index in 0..<2 { _ = try? Lab.down(name: lab + "cmp\(index)", stateDirectory: directory + "-cmp\(index)") }
            try? FileManager.default.removeItem(atPath: root)
        }
        let output = try ChildProcess.run(
            executable,
            arguments: ["compare", "--quick", "--json", "--plugins", "weave,weave-encrypted", "--lab", lab, "--state-dir", directory],
            timeoutMilliseconds: 240_000)
        #expect(output.status.isSuccess, "\(output.standardErrorText)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutputText.utf8)) as? [String: Any])
        #expect(document["plugins"] as? [String] == ["weave", "weave-encrypted"])
        #expect((document["errors"] as? [String: Any])?.isEmpty == true, "\(document["errors"] ?? "no errors key")")
        var values: [String: [String: Any]] = [:]
        for row in try #require(document["rows"] as? [[String: Any]]) {
            values[try #require(row["name"] as? String)] = row["values"] as? [String: Any]
        }
        #expect(values["traffic_encrypted_on_wire"]?["weave"] as? Bool == false)
        #expect(values["traffic_encrypted_on_wire"]?["weave-encrypted"] as? Bool == true)
        for plugin in ["weave", "weave-encrypted"] {
            let throughput = values["tcp_throughput_gbps"]?[plugin] as? Double ?? -1
            #expect(throughput > 0.01, "\(plugin): \(throughput) Gbit/s")
        }
        for index in 0..<2 { #expect(LabTestSupport.namespaces(of: lab + "cmp\(index)").isEmpty) }
    }
}
