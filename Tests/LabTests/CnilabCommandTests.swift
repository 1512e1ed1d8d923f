import ChildProcess
import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// `cnilab` driven as a subprocess (the built product), one lab with the reference profile:
/// every command, the JSON shapes, the lock, and `down` after an agent crash.
@Suite(.serialized) struct CnilabCommandTests {
    let executable = LabTestSupport.productsDirectory + "/cnilab"

    struct Run {
        var succeeded: Bool
        var output: String
        var errors: String
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:]
        }
    }

    func cnilab(_ arguments: [String], lab: String, directory: String, environment: [String: String] = [:]) throws -> Run {
        var env = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        env.merge(environment) { $1 }
        // The lab options go before a `--` (after it everything is the command of `exec`).
        var all = arguments
        all.insert(contentsOf: ["--lab", lab, "--state-dir", directory], at: arguments.firstIndex(of: "--") ?? arguments.endIndex)
        let output = try ChildProcess.run(
            executable, arguments: all, environment: env,
            timeoutMilliseconds: 60_000)
        return Run(succeeded: output.status.isSuccess, output: output.standardOutputText, errors: output.standardErrorText)
    }

    @Test(.privileged) func everyCommandEndToEnd() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let lab = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: lab, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        func run(_ arguments: String...) throws -> Run { try cnilab(arguments, lab: lab, directory: directory) }

        let up = try run("up", "--plugin", "reference", "--nodes", "2", "--stand-in-agent")
        #expect(up.succeeded, "\(up.errors)")
        let podA = try run("pod", "add", "x/a", "--node", "0", "--label", "app=web", "--label", "tier=front")
        #expect(podA.succeeded, "\(podA.errors)")
        #expect(IPv4Text.isAddress(podA.output.trimmingCharacters(in: .whitespacesAndNewlines)))

        // Two commands at once: both pods land in the state (the lock serialises them).
        let logs = (root + "/b.out", root + "/c.out")
        let arguments = ["--lab", lab, "--state-dir", directory]
        let first = try ChildProcess.launch(executable, arguments: ["pod", "add", "x/b", "--node", "1"] + arguments, standardOutput: .file(logs.0), standardError: .file(logs.0))
        let second = try ChildProcess.launch(executable, arguments: ["pod", "add", "y/c", "--node", "0"] + arguments, standardOutput: .file(logs.1), standardError: .file(logs.1))
        #expect(try first.wait().isSuccess && second.wait().isSuccess)

        let list = try run("pod", "list", "--json")
        let pods = try #require(list.json["pods"] as? [[String: Any]])
        #expect(pods.count == 3)
        #expect(Set(pods.map { "\($0["namespace"]!)/\($0["name"]!)" }) == ["x/a", "x/b", "y/c"])
        let podShapes = Set(pods.map { $0.keys.sorted() })
        #expect(podShapes == [["ip", "ips", "labels", "name", "namespace", "node"]])
        #expect(pods.allSatisfy { ($0["ips"] as? [String]) == ($0["ip"] as? String).map { [$0] } }, "an IPv4 lab: ips is [ip]")
        #expect(pods.first { $0["name"] as? String == "a" }?["labels"] as? [String: String] == ["app": "web", "tier": "front"])

        let status = try run("status", "--json").json
        #expect(status["lab"] as? String == lab && status["plugin"] as? String == "reference")
        #expect((status["store"] as? String)?.hasPrefix("file:") == true && status["pods"] as? Int == 3)
        #expect(status["ipFamily"] as? String == "ipv4")
        let nodes = try #require(status["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["index"] as? Int } == [0, 1])
        let nodeShapes = Set(nodes.map { $0.keys.sorted() })
        #expect(nodeShapes == [["agent", "index", "name", "subnet"]])
        let agents = nodes.map { $0["agent"] as? String }
        #expect(agents == ["running", "running"])

        let probe = try run("probe", "--json", "--timeout-ms", "500")
        let results = try #require(probe.json["results"] as? [[String: Any]])
        #expect(results.count == 24)
        let shapes = Set(results.map { $0.keys.sorted() })
        #expect(shapes == [["connected", "family", "from", "port", "protocol", "to"]])
        #expect(results.allSatisfy { $0["family"] as? String == "4" })
        let connected = results.filter { $0["connected"] as? Bool == true }
        #expect(connected.count == results.count)
        #expect(try run("probe", "--ports", "80", "--protocols", "udp").output.contains("6/6 connected"))

        #expect(try run("pod", "label", "x/a", "tier=back", "app-").output.contains("tier=back"))
        #expect(try run("namespace", "label", "x", "team=blue").output == "kubernetes.io/metadata.name=x,team=blue\n")
        let address = try run("exec", "x/a", "--", "ip", "-br", "-4", "addr", "show", "eth0")
        #expect(address.output.contains(podA.output.trimmingCharacters(in: .whitespacesAndNewlines)), "\(address.errors)")

        #expect(try run("agent", "stop", "1").succeeded)
        #expect((try run("status", "--json").json["nodes"] as? [[String: Any]])?[1]["agent"] as? String == "stopped")
        #expect(try run("agent", "start", "1").succeeded)
        #expect((try run("status", "--json").json["nodes"] as? [[String: Any]])?[1]["agent"] as? String == "running")
        #expect(try run("logs", "0").succeeded)
        #expect(try run("pod", "delete", "y/c").succeeded)
        #expect(try run("node", "add").output.hasPrefix("node 2 "))
        #expect(try run("node", "remove", "2").succeeded)
        #expect(LabTestSupport.namespaces(of: lab).count == 1 + 2 + 2)

        // The lock: while this process holds the lab, a command gives up with a clear error.
        do {
            let held = try Lab.open(name: lab, stateDirectory: directory, profiles: LabProfiles.all)
            let busy = try cnilab(["status"], lab: lab, directory: directory, environment: ["CNILAB_LOCK_TIMEOUT_MS": "200"])
            #expect(!busy.succeeded && busy.errors.contains("lab busy"))
            _ = held
        }

        // An unknown plugin is refused by the argument parser (canal and weave are real profiles
        // now: CanalLabTests, WeaveLabTests).
        let unknown = try run("up", "--plugin", "cilium")
        #expect(!unknown.succeeded && unknown.errors.contains("cilium"))

        // A crash: agent 0 killed and the state file lost; down still removes every namespace,
        // process (found inside the lab's namespaces) and file.
        #expect(try run("agent", "kill", "0").succeeded)
        let survivors = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: directory + "/state.json"))) as? [String: Any])["processes"]
            .flatMap { $0 as? [[String: Any]] }?.compactMap { $0["pid"] as? Int32 } ?? []
        #expect(survivors.count >= 3)
        try Data("{ truncated".utf8).write(to: URL(fileURLWithPath: directory + "/state.json"))
        #expect(!(try run("status")).succeeded)
        let down = try run("down")
        #expect(down.succeeded, "\(down.errors)")
        #expect(LabTestSupport.namespaces(of: lab).isEmpty)
        #expect(survivors.allSatisfy { !LabTestSupport.isAlive($0) })
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(!(try run("status")).succeeded)
    }
}

enum IPv4Text {
    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ".")
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
