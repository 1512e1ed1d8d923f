import ArgumentParser
import ChildProcess
import Foundation
import Lab
import NetlinkBenchmark

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, run by hand. In process: netlink, cni-add, datapath, policy, bgp; ipam runs its own executable.",
        subcommands: [Netlink.self, CNIAdd.self, IPAM.self, Datapath.self, BGP.self, Policy.self])

    struct Document: Encodable {
        struct Metric: Encodable {
            var name: String
            var ours: Double
            var reference: Double
            var speedup: Double
        }
        var scenario: String
        var metrics: [Metric]
    }

    struct Netlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The Netlink library's batch path against `ip -batch` (routes, veth pairs), in namespaces it creates.")
        @Option var routes = 100_000
        @Option var veths = 1_000
        @Flag var json = false

        func run() async throws {
            let measurements = try NetlinkBenchmark.run(routes: routes, veths: veths)
            if json {
                try Output.json(
                    Document(
                        scenario: "netlink",
                        metrics: measurements.map {
                            .init(
                                name: metricName($0.name),
                                ours: milliseconds($0.library), reference: milliseconds($0.ipBatch), speedup: $0.ratio)
                        }))
            } else {
                for measurement in measurements { print(measurement) }
            }
        }

        /// `veth pairs created` → `veth_pairs_created_ms`, `/32 routes` → `32_routes_ms`.
        func metricName(_ text: String) -> String {
            let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }
            return words.joined(separator: "_") + "_ms"
        }

        func milliseconds(_ duration: Duration) -> Double {
            let (seconds, attoseconds) = duration.components
            return Double(seconds) * 1000 + Double(attoseconds) / 1e15
        }
    }

    struct IPAM: ForwardedBenchmark {
        static let configuration = CommandConfiguration(
            commandName: "ipam", abstract: "Runs ipam-bench (built next to cnilab) with the arguments given; no --json yet.")
        static let executable = "ipam-bench"
        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []
    }
}

/// A scenario whose benchmark is its own executable of the package: cnilab runs it (found
/// next to cnilab or in CNILAB_BIN_DIR) with the arguments given and passes its output on.
protocol ForwardedBenchmark: AsyncParsableCommand {
    static var executable: String { get }
    var arguments: [String] { get }
}

extension ForwardedBenchmark {
    func run() async throws {
        if arguments.contains("--json") {
            throw LabError(.notAvailable, "bench \(Self.configuration.commandName ?? "") has no --json yet")
        }
        guard let path = ChildProcess.find(Self.executable, in: LabConfiguration.defaultExecutableDirectories) else {
            throw LabError(
                .missingExecutable, "\(Self.executable) not found next to cnilab; build it: swift build --product \(Self.executable)")
        }
        let process = try ChildProcess.launch(path, arguments: arguments, standardOutput: .inherit, standardError: .inherit)
        let status = try process.wait()
        guard case .exited(let code) = status else { throw ExitCode(128) }
        if code != 0 { throw ExitCode(code) }
    }
}
