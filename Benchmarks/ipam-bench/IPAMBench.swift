// ipam-bench: swift-ipam against the reference host-local plugin, same run, same config
// (the logic is the IPAMBenchmark library, shared with `cnilab bench ipam`).
//
//   swift build -c release --scratch-path .build-datastore --product swift-ipam --product ipam-bench
//   .build-datastore/release/ipam-bench [--iterations 200] [--parallel 20] [--rounds 10]
//                                       [--swift-ipam PATH] [--host-local PATH] [--store file:DIR|etcd:URL]
import ArgumentParser
import Foundation
import IPAMBenchmark

@main
struct IPAMBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipam-bench", abstract: "swift-ipam against the reference host-local plugin, same run, same config.")

    @Option(help: "Allocations per round.") var iterations = 200
    @Option(help: "Concurrent plugin processes.") var parallel = 20
    @Option(help: "Rounds.") var rounds = 10
    @Option(name: .customLong("swift-ipam"), help: "The swift-ipam plugin (default: next to this executable).") var swiftIPAM: String?
    @Option(name: .customLong("host-local"), help: "The reference host-local plugin.") var hostLocal: String?
    @Option(help: "Block mode on a store: file:DIR or etcd:URL[,URL…] (default: host-local's file layout).") var store: String?

    func validate() throws {
        guard iterations >= 1, parallel >= 1, rounds >= 1 else {
            throw ValidationError("--iterations, --parallel and --rounds must be at least 1")
        }
        if let store, !store.hasPrefix("file:") && !store.hasPrefix("etcd:") {
            throw ValidationError("--store must be file:DIR or etcd:URL[,URL…]")
        }
    }

    func run() throws {
        let ownDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        var options = IPAMBenchmark.Options(swiftIPAM: swiftIPAM ?? ownDirectory + "/swift-ipam")
        options.iterations = iterations
        options.parallel = parallel
        options.rounds = rounds
        if let hostLocal { options.hostLocal = hostLocal }
        options.store = store
        print(try IPAMBenchmark.run(options))
    }
}
