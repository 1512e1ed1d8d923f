import ArgumentParser
import ChildProcess
import Foundation
import Lab
import Namespaces

extension Bench {
    /// Cross-node pod-to-pod TCP throughput (iperf3) and round-trip time (ping) on a flannel
    /// lab, against the same measurement on a reference lab: the kernel bridge and static
    /// routes set up by the lab itself (same fabric, MTU 1500, no agent). For host-gw that is
    /// the same topology; for vxlan the baseline has no encapsulation, so the ratio is the
    /// overlay's cost.
    struct Datapath: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "datapath",
            abstract: "Cross-node pod-to-pod TCP throughput and RTT: flannel against the kernel baseline (reference lab).")
        @OptionGroup var options: LabOptions
        @Option var backend = FlannelBackend.vxlan
        @Option(help: "iperf3 seconds per run.") var seconds = 3
        @Flag var json = false

        struct Figures {
            var throughputGbps: Double
            var roundTripMilliseconds: Double
        }

        func run() async throws {
            let ours = try await measure(profile: .flannel(backend: backend), suffix: "dpo")
            let reference = try await measure(profile: .reference(agent: nil), suffix: "dpr")
            let metrics: [Document.Metric] = [
                .init(
                    name: "tcp_throughput_gbps", ours: ours.throughputGbps, reference: reference.throughputGbps,
                    speedup: reference.throughputGbps == 0 ? 0 : ours.throughputGbps / reference.throughputGbps),
                .init(
                    name: "rtt_ms", ours: ours.roundTripMilliseconds, reference: reference.roundTripMilliseconds,
                    speedup: ours.roundTripMilliseconds == 0 ? 0 : reference.roundTripMilliseconds / ours.roundTripMilliseconds),
            ]
            if json {
                try Output.json(Document(scenario: "datapath", metrics: metrics))
            } else {
                print("datapath (flannel \(backend.rawValue) vs kernel bridge + static routes, \(seconds) s iperf3, 20 pings)")
                for metric in metrics {
                    print("  \(metric.name): ours \(String(format: "%.3f", metric.ours)), reference \(String(format: "%.3f", metric.reference)), speedup \(String(format: "%.2f", metric.speedup))")
                }
            }
        }

        func measure(profile: PluginProfile, suffix: String) async throws -> Figures {
            let name = options.lab + suffix
            let directory = LabConfiguration.defaultStateDirectory(lab: name)
            Output.progress("[\(profile)] creating lab '\(name)'…")
            let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: profile, nodeCount: 2))
            do {
                let client = try await lab.addPod(try PodReference(parsing: "bench/client"), node: 0)
                let server = try await lab.addPod(try PodReference(parsing: "bench/server"), node: 1)
                guard let address = server.address else { throw LabError(.plugin, "the server pod has no address") }
                let serverNamespace = try NetworkNamespace.open(name: server.networkNamespace)
                let clientNamespace = try NetworkNamespace.open(name: client.networkNamespace)
                let iperfServer = try serverNamespace.launchProcess("/usr/bin/iperf3", arguments: ["-s", "-1", "-p", "5201"])
                defer { iperfServer.terminate(graceMilliseconds: 1_000) }
                try await Task.sleep(for: .milliseconds(300))
                Output.progress("[\(profile)] iperf3 \(seconds) s, ping ×20…")
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
}
