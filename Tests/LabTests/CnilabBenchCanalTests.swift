import ChildProcess
import Foundation
import Namespaces
import Testing
import TestSupport

/// `cnilab bench cni-add --plugin canal --pods 3 --json` as a subprocess (the debug swift-canal
/// next to cnilab): every ADD/DEL succeeds, the figures are sane, and the benchmark's
/// namespaces are gone afterwards. Measures nothing worth keeping: the figures are in
/// Documentation/Performance-Canal.md.
@Suite(.serialized) struct CnilabBenchCanalTests {
    @Test(.privileged) func canalCNIAddBenchmarkRuns() throws {
        let output = try ChildProcess.run(
            LabTestSupport.productsDirectory + "/cnilab",
            arguments: ["bench", "cni-add", "--plugin", "canal", "--pods", "3", "--json",
                        "--plugin-dir", LabTestSupport.productsDirectory],
            timeoutMilliseconds: 60_000)
        #expect(output.status.isSuccess, "\(output.standardErrorText)")
        #expect(output.standardErrorText.contains(LabTestSupport.productsDirectory + "/swift-canal"), "\(output.standardErrorText)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutputText.utf8)) as? [String: Any])
        #expect(document["scenario"] as? String == "cni-add-canal")
        let metrics = try #require(document["metrics"] as? [[String: Any]])
        let names = metrics.compactMap { $0["name"] as? String }
        #expect(Set(names).isSuperset(of: ["add_median_ms", "del_median_ms", "add_median_ms_no_store"]), "\(names)")
        for metric in metrics {
            let ours = metric["ours"] as? Double ?? -1
            let reference = metric["reference"] as? Double ?? -1
            #expect(ours > 0 && ours < 10_000 && reference > 0 && reference < 10_000, "\(metric)")
        }
        #expect(NetworkNamespace.list().filter { $0.hasPrefix("swcni-cbench-") }.isEmpty)
    }
}
