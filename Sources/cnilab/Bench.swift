import ArgumentParser
import Foundation
import LabMeasurement

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks, run by hand. netlink, cni-add, datapath, ipam, bgp, policy, mesh; exec runs the stand-alone ones.",
        subcommands: [Netlink.self, CNIAdd.self, IPAM.self, Datapath.self, BGP.self, Policy.self, Mesh.self, Exec.self, RouteReflectors.self])

    /// The text, or with `--json` the document.
    static func show(_ output: BenchOutput, json: Bool) throws {
        if json { try Output.json(output.document) } else { print(output.text) }
    }

    struct Netlink: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The Netlink library's batch path against `ip -batch` (routes, veth pairs), in namespaces it creates.")
        @Option var routes = 100_000
        @Option var veths = 1_000
        @Flag var json = false

        func run() async throws {
            try Bench.show(try LabBench.netlink(routes: routes, veths: veths), json: json)
        }
    }
}
