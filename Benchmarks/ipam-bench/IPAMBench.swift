// ipam-bench: swift-ipam against the reference host-local plugin, same run, same config
// (the logic is the IPAMBenchmark library, shared with `cnilab bench ipam`).
//
//   swift build -c release --scratch-path .build-datastore --product swift-ipam --product ipam-bench
//   .build-datastore/release/ipam-bench [--iterations 200] [--parallel 20] [--rounds 10]
//                                       [--swift-ipam PATH] [--host-local PATH] [--store file:DIR|etcd:URL]
import Foundation
import IPAMBenchmark

@main
struct IPAMBench {
    static func option(_ name: String, _ fallback: String) -> String {
        let arguments = CommandLine.arguments
        if let index = arguments.firstIndex(of: name), index + 1 < arguments.count { return arguments[index + 1] }
        return fallback
    }

    static func main() throws {
        let ownDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        var options = IPAMBenchmark.Options(swiftIPAM: option("--swift-ipam", ownDirectory + "/swift-ipam"))
        options.iterations = Int(option("--iterations", "200")) ?? 200
        options.parallel = Int(option("--parallel", "20")) ?? 20
        options.rounds = Int(option("--rounds", "10")) ?? 10
        options.hostLocal = option("--host-local", options.hostLocal)
        let store = option("--store", "")
        options.store = store.isEmpty ? nil : store
        print(try IPAMBenchmark.run(options))
    }
}
