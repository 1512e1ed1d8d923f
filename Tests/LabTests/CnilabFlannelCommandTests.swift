import ChildProcess
import Foundation
import Lab
import LabProfiles
import Testing
import TestSupport

/// `cnilab` with the flannel plugin as a subprocess: the etcd store with host-gw, and the demo
/// (3 nodes, vxlan, file store) under two minutes, leaving nothing behind.
@Suite(.serialized) struct CnilabFlannelCommandTests {
    let executable = LabTestSupport.productsDirectory + "/cnilab"

    func cnilab(_ arguments: [String], lab: String, directory: String) throws -> (succeeded: Bool, output: String, errors: String) {
        let output = try ChildProcess.run(
            executable, arguments: arguments + ["--lab", lab, "--state-dir", directory], timeoutMilliseconds: 120_000)
        return (output.status.isSuccess, output.standardOutputText, output.standardErrorText)
    }

    func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test(.privileged) func etcdHostGatewayThroughTheCommandLine() throws {
        let root = try LabTestSupport.temporaryDirectory()
        let lab = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: lab, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        func run(_ arguments: String...) throws -> (succeeded: Bool, output: String, errors: String) {
            try cnilab(arguments, lab: lab, directory: directory)
        }
        let up = try run("up", "--nodes", "2", "--store", "etcd", "--backend", "host-gw")
        #expect(up.succeeded, "\(up.errors)")
        let status = json(try run("status", "--json").output)
        #expect(status["plugin"] as? String == "flannel" && (status["store"] as? String)?.hasPrefix("etcd:") == true)
        let subnets = (status["nodes"] as? [[String: Any]] ?? []).compactMap { $0["subnet"] as? String }
        #expect(subnets.count == 2 && Set(subnets).count == 2)
        #expect(try run("pod", "add", "x/a", "--node", "0").succeeded)
        #expect(try run("pod", "add", "x/b", "--node", "1").succeeded)
        let results = json(try run("probe", "--json").output)["results"] as? [[String: Any]] ?? []
        let connected = results.filter { $0["connected"] as? Bool == true }
        #expect(results.count == 8 && connected.count == 8)
        #expect(try run("agent", "kill", "1").succeeded)
        #expect(try run("node", "remove", "1").succeeded)
        #expect(try run("logs", "0").output.contains("swift-flanneld"))
        #expect(try run("down").succeeded)
        #expect(LabTestSupport.namespaces(of: lab).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test(.privileged) func demoUnderTwoMinutes() throws {
        let root = try LabTestSupport.temporaryDirectory()
        let lab = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: lab, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let start = ContinuousClock.now
        let demo = try cnilab(["demo"], lab: lab, directory: root + "/lab")
        #expect(ContinuousClock.now - start < .seconds(120))
        #expect(demo.succeeded, "\(demo.errors)")
        #expect(demo.output.contains("120/120 connected"))
        #expect(LabTestSupport.namespaces(of: lab).isEmpty)
    }
}
