import ChildProcess
import Foundation
import Lab
import Namespaces

/// One lab of a `cnilab bench datapath` run: its client pod (node 0), server pod (node 1),
/// and the agents whose CPU counts for its modes.
struct DatapathLabSetup: Sendable {
    let kind: DatapathLab
    let lab: Lab
    let nodes: [LabNode]
    let client: LabPod
    let server: LabPod
    let address: String
    let clientNamespace: NetworkNamespace
    let serverNamespace: NetworkNamespace
    /// The nodes' agents (pid files next to their logs); none for the reference lab.
    let agentProcesses: [Int32]

    init(kind: DatapathLab, lab: Lab, client: LabPod, server: LabPod) async throws {
        guard let address = server.address else { throw LabError(.plugin, "the server pod has no address") }
        let nodes = await lab.nodes()
        guard nodes.count == 2 else { throw LabError(.state, "a datapath lab has 2 nodes, not \(nodes.count)") }
        self.kind = kind
        self.lab = lab
        self.nodes = nodes
        self.client = client
        self.server = server
        self.address = String(address.split(separator: "/").first ?? "")
        self.clientNamespace = try NetworkNamespace.open(name: client.networkNamespace)
        self.serverNamespace = try NetworkNamespace.open(name: server.networkNamespace)
        self.agentProcesses = nodes.compactMap { node in
            let log = lab.agentLogPath(node.index)
            let pidFile = (log.hasSuffix(".log") ? String(log.dropLast(4)) : log) + ".pid"
            return (try? String(contentsOfFile: pidFile, encoding: .utf8))?.split(separator: " ").first.flatMap { Int32($0) }
        }
    }

    /// The client pod's MTU.
    func podMTU() throws -> Int { try Self.mtu(of: "eth0", in: clientNamespace) }

    /// Node 0's underlay MTU.
    func underlayMTU() throws -> Int { try Self.mtu(of: "eth0", in: try NetworkNamespace.open(name: nodes[0].networkNamespace)) }

    static func mtu(of device: String, in namespace: NetworkNamespace) throws -> Int {
        let output = try HandBuiltVXLAN.ip(namespace, ["-j", "link", "show", device])
        let links = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
        guard let mtu = links?.first?["mtu"] as? Int else { throw LabError(.process, "no MTU on \(device) in \(namespace)") }
        return mtu
    }

    /// For the weave modes: waits (up to 60 s) until both agents carry the pair on the mode's
    /// path (`swift-weaved status --json`: fast path; sleeve in clear; sleeve sealed).
    func waitForPath(of mode: DatapathMode, progress: (@Sendable (String) -> Void)?) async throws {
        let expected: (path: String, encrypted: Bool)
        switch mode {
        case .weaveFast: expected = ("fastpath", false)
        case .weaveSleeve: expected = ("sleeve", false)
        case .weaveEncrypted: expected = ("sleeve", true)
        default: return
        }
        guard let tool = ChildProcess.find("swift-weaved", in: LabConfiguration.defaultExecutableDirectories) else {
            throw LabError(.missingExecutable, "swift-weaved not found next to cnilab")
        }
        progress?("[\(mode)] waiting until both agents use the \(expected.path)\(expected.encrypted ? " (encrypted)" : "")…")
        var last = ""
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            var good = true
            for (index, peer) in [(0, nodes[1].name), (1, nodes[0].name)] {
                let socket = lab.stateDirectory + "/nodes/\(index)/weave.sock"
                let output = try? ChildProcess.run(tool, arguments: ["status", "--json", "--socket", socket], timeoutMilliseconds: 15_000)
                let status = (output?.standardOutput).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
                let path = (status?["paths"] as? [[String: Any]])?.first { $0["peer"] as? String == peer }
                last = "node \(index) → \(peer): \(path.map { "\($0)" } ?? "no path")"
                if path?["path"] as? String != expected.path || (path?["encrypted"] as? Bool ?? false) != expected.encrypted { good = false }
            }
            if good { return }
            try await Task.sleep(for: .seconds(1))
        }
        throw LabError(.timedOut, "the pair never took the \(expected.path)\(expected.encrypted ? " (encrypted)" : ""): \(last)")
    }

    /// Pings (after three to warm neighbours and keys), then iperf3 with the machine's and the
    /// data path processes' CPU sampled around it.
    func measure(mode: DatapathMode, round: Int, seconds: Int, pings: Int, daemons: [Int32]) async throws -> DatapathSample {
        let iperfServer = try serverNamespace.launchProcess("/usr/bin/iperf3", arguments: ["-s", "-1", "-p", "5201"])
        defer { _ = iperfServer.terminate(graceMilliseconds: 1_000) }
        _ = try? clientNamespace.runProcess("/usr/bin/ping", arguments: ["-c", "3", "-i", "0.2", "-W", "1", "-q", address], timeoutMilliseconds: 10_000)
        let ping = try clientNamespace.runProcess(
            "/usr/bin/ping", arguments: ["-c", String(pings), "-i", "0.05", "-W", "1", "-q", address], timeoutMilliseconds: pings * 1_000 + 10_000)
        // "rtt min/avg/max/mdev = 0.041/0.062/0.101/0.013 ms"
        let line = ping.standardOutputText.split(separator: "\n").first { $0.hasPrefix("rtt") } ?? ""
        let average = line.split(separator: "=").last?.split(separator: "/").dropFirst().first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let mtu = try podMTU()
        let hertz = ProcessCPUTime.ticksPerSecond
        guard let machineBefore = MachineCPUTimes.now() else { throw LabError(.process, "cannot read /proc/stat") }
        let daemonsBefore = ProcessCPUTime.treeTicks(roots: daemons)
        let iperf = try clientNamespace.runProcess(
            "/usr/bin/iperf3", arguments: ["-c", address, "-p", "5201", "-t", String(seconds), "-J"], timeoutMilliseconds: (seconds + 30) * 1000)
        let daemonsAfter = ProcessCPUTime.treeTicks(roots: daemons)
        guard let machineAfter = MachineCPUTimes.now() else { throw LabError(.process, "cannot read /proc/stat") }
        let report = try? JSONSerialization.jsonObject(with: Data(iperf.standardOutput)) as? [String: Any]
        let end = report?["end"] as? [String: Any]
        let received = end?["sum_received"] as? [String: Any]
        guard let bits = received?["bits_per_second"] as? Double, let bytes = received?["bytes"] as? Double else {
            throw LabError(.process, "iperf3 gave no result: \(iperf.standardErrorText) \(report?["error"] ?? "")")
        }
        let utilisation = end?["cpu_utilization_percent"] as? [String: Any]
        let iperfSeconds = TransferCPU.iperfSeconds(
            hostPercent: utilisation?["host_total"] as? Double ?? 0, remotePercent: utilisation?["remote_total"] as? Double ?? 0,
            durationSeconds: received?["seconds"] as? Double ?? Double(seconds))
        let cpu = TransferCPU(
            receivedBytes: bytes, machineBefore: machineBefore, machineAfter: machineAfter,
            daemonTicks: daemonsAfter >= daemonsBefore ? daemonsAfter - daemonsBefore : 0, iperfSeconds: iperfSeconds, ticksPerSecond: hertz)
        return DatapathSample(round: round, mode: mode, podMTU: mtu, throughputGbps: bits / 1e9, roundTripMilliseconds: average ?? 0, cpu: cpu)
    }
}
