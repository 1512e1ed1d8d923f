import ArgumentParser
import Foundation
import Lab
import NetlinkBenchmark

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, run by hand. netlink, cni-add, datapath, ipam, bgp, policy, mesh.",
        subcommands: [Netlink.self, CNIAdd.self, IPAM.self, Datapath.self, BGP.self, Policy.self, Mesh.self])

    struct Document: Encodable {
        struct Metric: Encodable {
            var name: String
            var ours: Double
            var reference: Double
            var speedup: Double

            /// A time of ours against the reference's (lower is better): speedup = reference / ours.
            static func time(_ name: String, ours: Double, reference: Double) -> Metric {
                Metric(name: name, ours: ours, reference: reference, speedup: ours == 0 ? 0 : reference / ours)
            }
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

}
