import ArgumentParser
import Foundation
import MeshBenchmark

extension Bench {
    struct Mesh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mesh",
            abstract: "N mesh routers in one process on loopback: convergence time, gossip bytes per topology change, resident memory.")
        @Option(parsing: .upToNextOption, help: "Mesh sizes.") var peers = [100, 300]
        @Option(help: "Connections each peer dials.") var dials = 3
        @Flag(help: "Skip the gossip engine's simulation rows.") var noSimulation = false
        @Flag var json = false

        func run() async throws {
            var options = MeshBenchmark.Options()
            options.peerCounts = peers
            options.dialsPerPeer = dials
            options.simulation = !noSimulation
            let report = try await MeshBenchmark.run(options) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            guard !json else { return try Output.json(report) }
            print(MeshBenchmark.table(report))
        }
    }
}
