import ChildProcess
import Foundation
import Lab
import LabProfiles
import Namespaces

/// The figures of one plugin (nil: the measurement failed, see `errors`).
public struct ComparisonFigures: Sendable {
    public var plugin: String
    public var labUpSeconds: Double?
    public var addMedianMilliseconds: Double?
    public var deleteMedianMilliseconds: Double?
    public var throughputGbps: Double?
    public var roundTripMilliseconds: Double?
    public var podMTU: Int?
    public var underlayMTU: Int?
    public var agentMemoryMebibytes: Double?
    public var convergenceSeconds: Double?
    public var enforcesPolicy: Bool?
    public var policyEnforcementSeconds: Double?
    /// Upstream NetworkPolicy e2e cases passed / run (only for profiles that enforce policy).
    public var netpolCasesPassed: Int?
    public var netpolCasesRun: Int?
    /// Pod traffic was not readable on the fabric (a ping's marker absent from a capture).
    public var encryptedOnWire: Bool?
    public var errors: [String] = []

    public init(plugin: String) { self.plugin = plugin }
}

/// Builds one 2-node lab with `profile`, measures it, removes it (`cnilab compare`, one plugin).
public struct ComparisonMeasurement: Sendable {
    public var profile: any LabProfile
    public var lab: String
    public var directory: String
    public var settings: ComparisonSettings
    /// The lab's underlay subnets (`cnilab compare --underlay-subnets N`; 1: one L2 segment).
    /// With 2 the two nodes sit in different subnets behind the lab's router.
    public var underlaySubnets = 1
    /// Hears a line per step (progress; `cnilab` prints it to stderr).
    public var progress: (@Sendable (String) -> Void)?

    public init(
        profile: any LabProfile, lab: String, directory: String, settings: ComparisonSettings,
        progress: (@Sendable (String) -> Void)? = nil
    ) {
        self.profile = profile
        self.lab = lab
        self.directory = directory
        self.settings = settings
        self.progress = progress
    }

    /// The namespace of the measured pods.
    public static let podNamespace = "cmp"

    func announce(_ text: String) { progress?(text) }

    public func run() async throws -> ComparisonFigures {
        var result = ComparisonFigures(plugin: ComparisonPlan.columnName(of: profile))
        // The run's own directory holds what its lab needs besides its state (weave's secret).
        let runDirectory = try RunDirectory.make(prefix: "cnilab-compare-")
        defer { RunDirectory.remove(runDirectory) }
        let profile = try ComparisonPlan.prepareSecret(for: profile, in: runDirectory)
        announce("[\(profile.name)] creating lab '\(lab)' (2 nodes)…")
        _ = try? Lab.down(name: lab, stateDirectory: directory)
        let start = ContinuousClock.now
        let lab = try await Lab.up(
            LabConfiguration(name: lab, stateDirectory: directory, profile: profile, nodeCount: 2, underlaySubnets: underlaySubnets))
        result.labUpSeconds = (ContinuousClock.now - start).seconds
        func attempt(_ what: String, _ body: () async throws -> Void) async {
            do { try await body() } catch {
                result.errors.append("\(what): \(error)")
                announce("[\(profile.name)] \(what) failed: \(error)")
            }
        }
        do {
            announce("[\(profile.name)] pod ADD/DEL ×\(settings.pods)…")
            let pods = try await podLatency(lab, into: &result)
            // The datapath is measured in steady state: every pod reaches every other first
            // (calico learns a new pod's route over BGP a moment after the ADD).
            await attempt("routes to the pods") { _ = try await waitForFullMatrix(lab, since: .now) }
            await attempt("datapath") { try await datapath(client: pods.0, server: pods.1, into: &result) }
            await attempt("capture") {
                let capture = try await lab.captureMarker(from: pods.0, to: pods.1, in: directory)
                guard capture.answered else { throw LabError(.process, "the marked pings were not answered") }
                result.encryptedOnWire = !capture.seen
            }
            await attempt("mtu") { try await mtu(lab, pod: pods.0, into: &result) }
            await attempt("agent memory") { result.agentMemoryMebibytes = try await agentMemory(lab) }
            await attempt("convergence") { result.convergenceSeconds = try await convergence(lab) }
            await attempt("policy") { try await policy(lab, into: &result) }
            if await lab.enforcesPolicy {
                await attempt("netpol e2e cases") { try await netpolCases(lab, into: &result) }
            }
        } catch {
            _ = try? await lab.down()
            throw error
        }
        announce("[\(profile.name)] removing the lab…")
        _ = try await lab.down()
        return result
    }

    /// Adds `settings.pods` pods alternating between the nodes (each ADD timed), then deletes
    /// all but the first two (each DEL timed). Returns the pods left on node 0 and node 1.
    func podLatency(_ lab: Lab, into result: inout ComparisonFigures) async throws -> (LabPod, LabPod) {
        var adds: [Double] = []
        var pods: [LabPod] = []
        for index in 0..<max(settings.pods, 3) {
            let reference = try PodReference(parsing: "\(Self.podNamespace)/p\(index)")
            let start = ContinuousClock.now
            pods.append(try await lab.addPod(reference, node: index % 2))
            adds.append((ContinuousClock.now - start).seconds * 1000)
        }
        var deletes: [Double] = []
        for pod in pods.dropFirst(2) {
            let start = ContinuousClock.now
            try await lab.deletePod(try PodReference(parsing: pod.qualifiedName))
            deletes.append((ContinuousClock.now - start).seconds * 1000)
        }
        result.addMedianMilliseconds = Self.median(adds)
        result.deleteMedianMilliseconds = Self.median(deletes)
        return (pods[0], pods[1])
    }

    /// iperf3 (TCP, `iperfSeconds`) and ping between the pods of node 0 and node 1.
    func datapath(client: LabPod, server: LabPod, into result: inout ComparisonFigures) async throws {
        guard let address = server.address else { throw LabError(.plugin, "the server pod has no address") }
        announce("[\(profile.name)] iperf3 \(settings.iperfSeconds) s, ping ×\(settings.pings)…")
        let serverNamespace = try NetworkNamespace.open(name: server.networkNamespace)
        let clientNamespace = try NetworkNamespace.open(name: client.networkNamespace)
        let iperfServer = try serverNamespace.launchProcess("/usr/bin/iperf3", arguments: ["-s", "-1", "-p", "5201"])
        defer { iperfServer.terminate(graceMilliseconds: 1_000) }
        try await Task.sleep(for: .milliseconds(300))
        var iperf = try clientNamespace.runProcess(
            "/usr/bin/iperf3", arguments: ["-c", address, "-p", "5201", "-t", String(settings.iperfSeconds), "-J"],
            timeoutMilliseconds: (settings.iperfSeconds + 20) * 1000)
        if !iperf.status.isSuccess {
            // The server may not have been listening yet on a loaded machine: one more try.
            try await Task.sleep(for: .milliseconds(500))
            iperf = try clientNamespace.runProcess(
                "/usr/bin/iperf3", arguments: ["-c", address, "-p", "5201", "-t", String(settings.iperfSeconds), "-J"],
                timeoutMilliseconds: (settings.iperfSeconds + 20) * 1000)
        }
        let report = try? JSONSerialization.jsonObject(with: Data(iperf.standardOutput)) as? [String: Any]
        let received = ((report?["end"] as? [String: Any])?["sum_received"] as? [String: Any])?["bits_per_second"] as? Double
        guard let received else { throw LabError(.process, "iperf3 gave no result: \(iperf.standardErrorText)") }
        result.throughputGbps = received / 1e9
        let ping = try clientNamespace.runProcess(
            "/usr/bin/ping", arguments: ["-c", String(settings.pings), "-i", "0.05", "-q", address], timeoutMilliseconds: 20_000)
        // "rtt min/avg/max/mdev = 0.041/0.062/0.101/0.013 ms"
        let line = ping.standardOutputText.split(separator: "\n").first { $0.hasPrefix("rtt") } ?? ""
        let average = line.split(separator: "=").last?.split(separator: "/").dropFirst().first
        guard let average, let value = Double(average.trimmingCharacters(in: .whitespaces)) else {
            throw LabError(.process, "ping gave no RTT: \(ping.standardOutputText)")
        }
        result.roundTripMilliseconds = value
    }

    /// The pod's eth0 MTU, and the MTU of node 0's underlay link (the one with the node's address).
    func mtu(_ lab: Lab, pod: LabPod, into result: inout ComparisonFigures) async throws {
        let podNamespace = try NetworkNamespace.open(name: pod.networkNamespace)
        let podLink = try podNamespace.runProcess("/usr/sbin/ip", arguments: ["-o", "link", "show", "dev", "eth0"])
        result.podMTU = Self.mtu(of: podLink.standardOutputText)
        guard let node = await lab.nodes().first(where: { $0.index == pod.node }) else { throw LabError(.notFound, "no node \(pod.node)") }
        let nodeNamespace = try NetworkNamespace.open(name: node.networkNamespace)
        let addresses = try nodeNamespace.runProcess("/usr/sbin/ip", arguments: ["-o", "-4", "addr", "show"]).standardOutputText
        // "3: eth0    inet 192.168.77.10/24 brd … scope global eth0"
        guard let line = addresses.split(separator: "\n").first(where: { $0.contains(" \(node.underlayAddress)/") }),
            let device = line.split(separator: " ").dropFirst().first
        else { throw LabError(.notFound, "no underlay link with \(node.underlayAddress) on node \(node.index)") }
        let link = try nodeNamespace.runProcess("/usr/sbin/ip", arguments: ["-o", "link", "show", "dev", String(device)])
        result.underlayMTU = Self.mtu(of: link.standardOutputText)
    }

    /// `mtu N` in one line of `ip -o link` / `ip -o addr` output.
    public static func mtu(of line: String) -> Int? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let index = words.firstIndex(of: "mtu"), index + 1 < words.count else { return nil }
        return Int(words[index + 1])
    }

    /// The median (the mean of the middle two for an even count); nil when empty.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
