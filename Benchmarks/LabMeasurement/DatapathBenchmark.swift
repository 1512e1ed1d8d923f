import ChildProcess
import Foundation
import Lab
import LabProfiles
import Namespaces

/// Cross-node pod-to-pod TCP throughput (iperf3) and round-trip time (ping) on a flannel
/// lab, against the same measurement on a hand-built kernel baseline of the same topology:
/// a reference lab (kernel bridge, reference plugins, same fabric, no agent) whose nodes
/// are joined by static routes for host-gw, and for vxlan by a VXLAN overlay set up by hand
/// with iproute2 (`ip link add … type vxlan`, permanent neighbour, FDB entry, onlink route)
/// with the pods at the overlay's MTU (underlay − 50), as flannel sets them
/// (`cnilab bench datapath`). The labs are named `<lab>dpo` and `<lab>dpr`.
public struct DatapathBenchmark: Sendable {
    public var lab: String
    public var backend: FlannelBackend
    /// iperf3 seconds per run.
    public var seconds: Int
    public var progress: (@Sendable (String) -> Void)?

    public init(lab: String, backend: FlannelBackend = .vxlan, seconds: Int = 3, progress: (@Sendable (String) -> Void)? = nil) {
        self.lab = lab
        self.backend = backend
        self.seconds = seconds
        self.progress = progress
    }

    struct Figures {
        var throughputGbps: Double
        var roundTripMilliseconds: Double
    }

    public func run() async throws -> BenchOutput {
        let ours = try await measure(profile: FlannelProfile(backend: backend), suffix: "dpo")
        let reference = try await measure(profile: ReferenceProfile(), suffix: "dpr", handBuiltOverlay: backend == .vxlan)
        let metrics: [BenchDocument.Metric] = [
            .init(
                name: "tcp_throughput_gbps", ours: ours.throughputGbps, reference: reference.throughputGbps,
                speedup: reference.throughputGbps == 0 ? 0 : ours.throughputGbps / reference.throughputGbps),
            .init(
                name: "rtt_ms", ours: ours.roundTripMilliseconds, reference: reference.roundTripMilliseconds,
                speedup: ours.roundTripMilliseconds == 0 ? 0 : reference.roundTripMilliseconds / ours.roundTripMilliseconds),
        ]
        let baseline = backend == .vxlan ? "hand-built kernel VXLAN, MTU 1450" : "kernel bridge + static routes"
        var lines = ["datapath (flannel \(backend.rawValue) vs \(baseline), \(seconds) s iperf3, 20 pings)"]
        for metric in metrics {
            lines.append(
                "  \(metric.name): ours \(String(format: "%.3f", metric.ours)), reference \(String(format: "%.3f", metric.reference)), speedup \(String(format: "%.2f", metric.speedup))")
        }
        return BenchOutput(text: lines.joined(separator: "\n"), document: BenchDocument(scenario: "datapath", metrics: metrics))
    }

    func measure(profile: some LabProfile, suffix: String, handBuiltOverlay: Bool = false) async throws -> Figures {
        let name = lab + suffix
        let directory = LabConfiguration.defaultStateDirectory(lab: name)
        progress?("[\(profile)] creating lab '\(name)'…")
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: profile, nodeCount: 2))
        do {
            let client = try await lab.addPod(try PodReference(parsing: "bench/client"), node: 0)
            let server = try await lab.addPod(try PodReference(parsing: "bench/server"), node: 1)
            guard let address = server.address else { throw LabError(.plugin, "the server pod has no address") }
            if handBuiltOverlay {
                progress?("[\(profile)] replacing the static routes with a hand-built VXLAN overlay…")
                try await HandBuiltVXLAN.build(nodes: await lab.nodes(), pods: [client.networkNamespace, server.networkNamespace])
            }
            let serverNamespace = try NetworkNamespace.open(name: server.networkNamespace)
            let clientNamespace = try NetworkNamespace.open(name: client.networkNamespace)
            let iperfServer = try serverNamespace.launchProcess("/usr/bin/iperf3", arguments: ["-s", "-1", "-p", "5201"])
            defer { iperfServer.terminate(graceMilliseconds: 1_000) }
            try await Task.sleep(for: .milliseconds(300))
            progress?("[\(profile)] iperf3 \(seconds) s, ping ×20…")
            let iperf = try clientNamespace.runProcess(
                "/usr/bin/iperf3", arguments: ["-c", address, "-p", "5201", "-t", String(seconds), "-J"],
                timeoutMilliseconds: (seconds + 20) * 1000)
            let report = try JSONSerialization.jsonObject(with: Data(iperf.standardOutput)) as? [String: Any]
            let received = ((report?["end"] as? [String: Any])?["sum_received"] as? [String: Any])?["bits_per_second"] as? Double
            guard let received else { throw LabError(.process, "iperf3 gave no result: \(iperf.standardErrorText)") }
            let ping = try clientNamespace.runProcess(
                "/usr/bin/ping", arguments: ["-c", "20", "-i", "0.05", "-q", address], timeoutMilliseconds: 20_000)
            // "rtt min/avg/max/mdev = 0.041/0.062/0.101/0.013 ms"
            let line = ping.standardOutputText.split(separator: "\n").first { $0.hasPrefix("rtt") } ?? ""
            let average = line.split(separator: "=").last?.split(separator: "/").dropFirst().first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            try await lab.down()
            return Figures(throughputGbps: received / 1e9, roundTripMilliseconds: average ?? 0)
        } catch {
            _ = try? await lab.down()
            throw error
        }
    }
}

/// The vxlan baseline of `cnilab bench datapath`: the reference lab's nodes joined by a VXLAN
/// overlay built by hand with iproute2, exactly the kernel objects flannel programs (VNI 1 on
/// port 8472 is flannel's; this uses VNI 42 on 4789 so nothing is mistaken for it).
enum HandBuiltVXLAN {
    static let device = "vxbase0"
    static let overlayMTU = 1450

    static func build(nodes: [LabNode], pods: [String]) async throws {
        struct Node { var namespace: NetworkNamespace; var underlay: String; var subnet: String; var vtep: String }
        var built: [Node] = []
        for node in nodes {
            guard let subnet = node.subnet else { throw LabError(.plugin, "node \(node.index) has no subnet") }
            let namespace = try NetworkNamespace.open(name: node.networkNamespace)
            let underlay = String(node.underlayAddress.split(separator: "/").first ?? "")
            let vtep = String(subnet.split(separator: "/").first ?? "")  // the subnet's network address, as flannel
            try ip(namespace, "link", "add", device, "type", "vxlan", "id", "42", "local", underlay, "dev", "eth0", "dstport", "4789", "nolearning")
            try ip(namespace, "link", "set", device, "mtu", String(overlayMTU), "up")
            try ip(namespace, "addr", "add", vtep + "/32", "dev", device)
            built.append(Node(namespace: namespace, underlay: underlay, subnet: subnet, vtep: vtep))
        }
        var macs: [String] = []
        for node in built {
            let output = try ip(node.namespace, "-j", "link", "show", device)
            let links = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]
            guard let mac = links?.first?["address"] as? String else { throw LabError(.process, "no MAC on \(device)") }
            macs.append(mac)
        }
        for (index, node) in built.enumerated() {
            for (other, remote) in built.enumerated() where other != index {
                _ = try? ip(node.namespace, "route", "del", remote.subnet)  // the reference lab's static route
                try ip(node.namespace, "neigh", "replace", remote.vtep, "lladdr", macs[other], "dev", device, "nud", "permanent")
                try ip(node.namespace, "route", "replace", remote.subnet, "via", remote.vtep, "dev", device, "onlink")
                let fdb = try node.namespace.runProcess(
                    "/usr/sbin/bridge", arguments: ["fdb", "append", macs[other], "dev", device, "dst", remote.underlay, "self", "permanent"])
                guard fdb.status.isSuccess else { throw LabError(.process, "bridge fdb append: \(fdb.standardErrorText)") }
            }
        }
        for pod in pods {
            try ip(try NetworkNamespace.open(name: pod), "link", "set", "eth0", "mtu", String(overlayMTU))
        }
    }

    @discardableResult
    static func ip(_ namespace: NetworkNamespace, _ arguments: String...) throws -> String {
        let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments)
        guard output.status.isSuccess else {
            throw LabError(.process, "ip \(arguments.joined(separator: " ")): \(output.standardErrorText)")
        }
        return output.standardOutputText
    }
}
