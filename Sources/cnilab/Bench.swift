import ArgumentParser
import Foundation
import NetlinkBenchmark

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, run by hand. Available: netlink. Not yet: cni-add, ipam, datapath, bgp, policy.",
        subcommands: [Netlink.self, NotYet.self])

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
                                name: $0.name.replacingOccurrences(of: " ", with: "_") + "_ms",
                                ours: milliseconds($0.library), reference: milliseconds($0.ipBatch), speedup: $0.ratio)
                        }))
            } else {
                for measurement in measurements { print(measurement) }
            }
        }

        func milliseconds(_ duration: Duration) -> Double {
            let (seconds, attoseconds) = duration.components
            return Double(seconds) * 1000 + Double(attoseconds) / 1e15
        }
    }

    struct NotYet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cni-add", abstract: "Not yet available (also ipam, datapath, bgp, policy).")
        func run() async throws {
            throw ValidationError("bench cni-add is not yet available; available: netlink")
        }
    }
}
