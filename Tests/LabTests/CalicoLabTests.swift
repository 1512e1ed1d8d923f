import ChildProcess
import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// The issue-8 lab bar with swift-calico-node and swift-calico: 3 nodes on one underlay
/// bridge, pods networked with routed veths, routes between the nodes learned over BGP only.
enum CalicoLab {
    /// `ip -j route show proto bgp` in a namespace: destination → gateway.
    static func bgpRoutes(in namespace: String) throws -> [String: String] {
        var routes: [String: String] = [:]
        for entry in try ipJSON(in: namespace, ["route", "show", "proto", "bgp"]) {
            if let destination = entry["dst"] as? String { routes[destination] = entry["gateway"] as? String ?? "" }
        }
        return routes
    }

    /// `ip -j ARGS` in a namespace, as JSON objects.
    static func ipJSON(in namespace: String, _ arguments: [String]) throws -> [[String: Any]] {
        let output = try NetworkNamespace.open(name: namespace).runProcess(
            "/usr/sbin/ip", arguments: ["-j"] + arguments, timeoutMilliseconds: 5_000)
        guard output.status.isSuccess else { throw CalicoLabTestError(output.standardErrorText) }
        return (try JSONSerialization.jsonObject(with: Data(output.standardOutput))) as? [[String: Any]] ?? []
    }

    /// Node `index`'s blocks (the lab's `subnet`, comma-separated blocks once it has pods).
    static func blocks(_ lab: Lab, node index: Int) async -> [String] {
        (await lab.nodes().first { $0.index == index }?.subnet ?? "").split(separator: ",").map(String.init)
    }

    /// What node `observer` should have learned: every other node's blocks via its address.
    static func expectedRoutes(_ lab: Lab, observer: Int) async -> [String: String] {
        var expected: [String: String] = [:]
        for node in await lab.nodes() where node.index != observer {
            for block in await blocks(lab, node: node.index) { expected[block] = node.underlayAddress }
        }
        return expected
    }

    /// Polls until `condition` holds (every 50 ms, at most `timeoutMilliseconds`); returns how
    /// long it took, or nil when it never held.
    static func waitUntil(timeoutMilliseconds: Int, _ condition: () async throws -> Bool) async throws -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < .milliseconds(timeoutMilliseconds) {
            if try await condition() { return clock.now - start }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Whether nodes `observers` have learned exactly the other nodes' blocks over BGP.
    static func converged(_ lab: Lab, observers: [Int]) async throws -> Bool {
        for observer in observers {
            let node = try #require(await lab.nodes().first { $0.index == observer })
            if try bgpRoutes(in: node.networkNamespace) != (await expectedRoutes(lab, observer: observer)) { return false }
        }
        return true
    }

    /// Whether any of `observers` still has a BGP route to one of `blocks`.
    static func anyRoute(_ lab: Lab, observers: [Int], to blocks: [String]) async throws -> Bool {
        for node in await lab.nodes() where observers.contains(node.index) {
            if try !Set(bgpRoutes(in: node.networkNamespace).keys).isDisjoint(with: blocks) { return true }
        }
        return false
    }

    /// Links of a tunnelling kind that are up (the fallback `tunl0`/`sit0` a loaded ipip
    /// module creates in every namespace stay down and do not count).
    static func tunnels(in namespace: String) throws -> [String] {
        let kinds: Set<String> = ["vxlan", "ipip", "gre", "gretap", "sit", "ip6tnl", "wireguard", "geneve"]
        return try ipJSON(in: namespace, ["-d", "link", "show", "up"]).compactMap { link in
            guard let info = link["linkinfo"] as? [String: Any], let kind = info["info_kind"] as? String,
                kinds.contains(kind)
            else { return nil }
            return link["ifname"] as? String
        }
    }

    /// Routes towards the pod network that are neither the node's own pods (proto 92), its
    /// blocks (proto 93) nor learned over BGP.
    static func otherPodNetworkRoutes(in namespace: String) throws -> [String] {
        try ipJSON(in: namespace, ["route", "show"]).compactMap { route in
            guard let destination = route["dst"] as? String, destination.hasPrefix("10.244.") else { return nil }
            let protocolName = "\(route["protocol"] ?? "")"
            return ["92", "93", "bgp"].contains(protocolName) ? nil : "\(destination) proto \(protocolName)"
        }
    }
}

struct CalicoLabTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@Suite(.serialized) struct CalicoLabTests {
    /// The profile's timers: sane defaults for people, short ones for tests.
    @Test func calicoSettings() throws {
        #expect(CalicoProfile(.fast).name == "calico" && CalicoProfile.kind == "calico")
        #expect(CalicoSettings.standard.holdTime >= 3 && CalicoSettings.standard.gracefulRestartTime >= CalicoSettings.standard.holdTime)
        #expect(CalicoSettings.fast.holdTime == 3 && CalicoSettings.fast.gracefulRestartTime == 5)
    }

    /// Timers BGP cannot use are refused before anything is created.
    @Test func invalidTimersAreRefused() async throws {
        let directory = NSTemporaryDirectory() + "cnilab-calico-invalid-\(UUID().uuidString.prefix(8))"
        for settings in [CalicoSettings(holdTime: 1), CalicoSettings(gracefulRestartTime: 0), CalicoSettings(gracefulRestartTime: 5_000)] {
            let error = await #expect(throws: LabError.self) {
                _ = try await Lab.up(LabConfiguration(name: "calicoinvalid", stateDirectory: directory, profile: .calico(settings)))
            }
            #expect(error?.code == .invalidArgument)
        }
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    /// One 3-node lab through the Lab API: BGP-only routes and full connectivity, then agent
    /// stop (withdrawn at once), kill (stale for the graceful-restart time, then swept), and
    /// kill + start within that time under a probe loop (no loss), node remove; then the CLI on
    /// the same lab.
    @Test(.privileged) func threeNodeLabOverBGP() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        try await Self.throughTheLabAPI(name: name, directory: directory)
        try Self.throughTheCLI(name: name, directory: directory)
        #expect(LabTestSupport.namespaces(of: name).isEmpty)
    }

    static func throughTheLabAPI(name: String, directory: String) async throws {
        let settings = CalicoSettings.fast
        let lab = try await Lab.up(
            LabConfiguration(name: name, stateDirectory: directory, profile: .calico(settings), nodeCount: 3))
        let nodes = await lab.nodes()
        #expect(nodes.allSatisfy { $0.agent == .running && $0.subnet == "10.244.0.0/16" })
        let configuration = try String(contentsOfFile: directory + "/calico.json", encoding: .utf8)
        #expect(configuration.contains("\"asNumber\":64512") && configuration.contains("\"nodeToNodeMeshEnabled\":true"))
        #expect(configuration.contains("\"blockSize\":26") && configuration.contains("\"gracefulRestartTime\":5"))

        var pods: [LabPod] = []
        for index in 0..<6 {
            pods.append(try await lab.addPod(try PodReference(namespace: "x", name: "p\(index)"), node: index / 2))
        }
        #expect(pods.allSatisfy { $0.address?.hasPrefix("10.244.") == true })
        for node in 0..<3 {
            let blocks = await CalicoLab.blocks(lab, node: node)
            #expect(blocks.count == 1 && blocks.allSatisfy { $0.hasSuffix("/26") }, "node \(node): \(blocks)")
        }

        // Converged: each node learned exactly the other nodes' blocks over BGP, nothing else.
        let convergence = try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) {
            try await CalicoLab.converged(lab, observers: [0, 1, 2])
        }
        let learned = try nodes.map { try CalicoLab.bgpRoutes(in: $0.networkNamespace) }
        #expect(convergence != nil, "BGP routes: \(learned)")
        for node in nodes {
            #expect(try CalicoLab.tunnels(in: node.networkNamespace).isEmpty)
            #expect(try CalicoLab.otherPodNetworkRoutes(in: node.networkNamespace).isEmpty)
            #expect(try CalicoLab.bgpRoutes(in: node.networkNamespace).count == 2)
        }
        let matrix = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
        #expect(matrix.count == 6 * 5 * 4)
        #expect(matrix.allSatisfy { $0.connected }, "not connected: \(matrix.filter { !$0.connected })")

        // agent stop 2: Cease, node 2's block is withdrawn from nodes 0 and 1 at once (well
        // before the 3 s hold time would notice).
        let blocksOfTwo = await CalicoLab.blocks(lab, node: 2)
        try await lab.stopAgent(2)
        #expect(await lab.nodes()[2].agent == .stopped)
        let withdrawal = try await CalicoLab.waitUntil(timeoutMilliseconds: 5_000) {
            try await !CalicoLab.anyRoute(lab, observers: [0, 1], to: blocksOfTwo)
        }
        #expect(withdrawal != nil && withdrawal! < .milliseconds(1_500), "withdrawn after \(String(describing: withdrawal))")

        try await lab.startAgent(2)
        #expect(try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) { try await CalicoLab.converged(lab, observers: [0, 1, 2]) } != nil)

        // agent kill 2: nodes 0 and 1 keep node 2's block (stale) for the graceful-restart
        // time, then sweep it.
        try await lab.killAgent(2)
        let killed = ContinuousClock.now
        try await Task.sleep(for: .seconds(settings.gracefulRestartTime) - .milliseconds(1_500))
        let stillStale = try await CalicoLab.anyRoute(lab, observers: [0, 1], to: blocksOfTwo)
        // Only meaningful inside the window: on a starved machine the sleep can overshoot it.
        if ContinuousClock.now - killed < .seconds(settings.gracefulRestartTime) - .milliseconds(300) {
            #expect(stillStale, "swept before the graceful-restart time")
        }
        let swept = try await CalicoLab.waitUntil(timeoutMilliseconds: 10_000) {
            try await !CalicoLab.anyRoute(lab, observers: [0, 1], to: blocksOfTwo)
        }
        let sweptAfter = ContinuousClock.now - killed
        #expect(swept != nil && sweptAfter >= .seconds(settings.gracefulRestartTime) - .milliseconds(500), "swept after \(sweptAfter)")

        try await lab.startAgent(2)
        #expect(try await CalicoLab.waitUntil(timeoutMilliseconds: 60_000) { try await CalicoLab.converged(lab, observers: [0, 1, 2]) } != nil)

        // agent kill 2 + start 2 within the graceful-restart time: traffic flows throughout,
        // past the moment the stale routes would have been swept.
        let stop = Flag()
        let loop = Task {
            var failures: [ProbeResult] = []
            var rounds = 0
            while !stop.isSet {
                let results = try await Lab.probe(pods, ProbeOptions(ports: [80], timeoutMilliseconds: 500))
                failures += results.filter { !$0.connected }
                rounds += 1
            }
            return (failures, rounds)
        }
        try await Task.sleep(for: .milliseconds(300))
        try await lab.killAgent(2)
        try await Task.sleep(for: .milliseconds(500))
        try await lab.startAgent(2)
        try await Task.sleep(for: .seconds(settings.gracefulRestartTime) + .milliseconds(1_500))
        stop.set()
        let (failures, rounds) = try await loop.value
        #expect(rounds >= 3)
        #expect(failures.isEmpty, "lost across kill + start: \(failures)")
        #expect(try await CalicoLab.converged(lab, observers: [0, 1, 2]))

        // node remove 2: its agent stops (Cease) and its node record goes; the others drop
        // its block and keep talking to each other.
        try await lab.removeNode(2)
        let removal = try await CalicoLab.waitUntil(timeoutMilliseconds: 5_000) {
            try await !CalicoLab.anyRoute(lab, observers: [0, 1], to: blocksOfTwo)
        }
        #expect(removal != nil && removal! < .milliseconds(1_500), "dropped after \(String(describing: removal))")
        let remaining = try await lab.probe(ProbeOptions(ports: [80], timeoutMilliseconds: 500))
        #expect(remaining.count == 4 * 3 * 2 && remaining.allSatisfy { $0.connected }, "\(remaining.filter { !$0.connected })")
    }

    /// The CLI on the lab the API left: status shows calico nodes with their blocks; agent
    /// stop/start; down removes everything.
    static func throughTheCLI(name: String, directory: String) throws {
        func cnilab(_ arguments: String...) throws -> ChildProcess.Output {
            try ChildProcess.run(
                LabTestSupport.productsDirectory + "/cnilab", arguments: arguments + ["--lab", name, "--state-dir", directory],
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 60_000)
        }
        let status = try cnilab("status", "--json")
        #expect(status.status.isSuccess, "\(status.standardErrorText)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(status.standardOutput)) as? [String: Any])
        #expect(document["plugin"] as? String == "calico")
        let nodes = try #require(document["nodes"] as? [[String: Any]])
        #expect(nodes.count == 2 && nodes.allSatisfy { ($0["subnet"] as? String)?.hasSuffix("/26") == true }, "\(nodes)")
        #expect(nodes.allSatisfy { $0["agent"] as? String == "running" })
        // Each running agent's BGP sessions: the other node, configured and (once up) Established.
        #expect(nodes.allSatisfy { ($0["bgpSessions"] as? [String: Any])?["configured"] as? Int == 1 }, "\(nodes)")

        #expect(try cnilab("agent", "stop", "1").status.isSuccess)
        #expect(try cnilab("status").standardOutputText.contains("agent stopped"))
        #expect(try cnilab("agent", "start", "1").status.isSuccess)
        #expect(try cnilab("down").status.isSuccess)
    }
}
