// ipam-bench: swift-ipam against the reference host-local plugin, same run, same config.
//
//   swift build -c release --scratch-path .build-datastore --product swift-ipam --product ipam-bench
//   .build-datastore/release/ipam-bench [--iterations 200] [--parallel 20] [--rounds 10]
//                                       [--swift-ipam PATH] [--host-local PATH] [--store file:DIR|etcd:URL]
//
// Each sample is the wall time of one plugin process (exec to exit) doing ADD. Sequential: one
// ADD at a time. Parallel: `--parallel` ADDs started at once, `--rounds` times. Every ADD is
// followed (outside the timing) by a DEL, so the range never fills.
import ChildProcess
import Foundation

@main
struct IPAMBench {
    struct Plugin {
        var label: String
        var path: String
        var configuration: String
    }

    static func option(_ name: String, _ fallback: String) -> String {
        let arguments = CommandLine.arguments
        if let index = arguments.firstIndex(of: name), index + 1 < arguments.count { return arguments[index + 1] }
        return fallback
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) * 1000 + Double(spec.tv_nsec) / 1_000_000
    }

    static func environment(_ command: String, _ id: String) -> [String: String] {
        ["CNI_COMMAND": command, "CNI_CONTAINERID": id, "CNI_NETNS": "/var/run/netns/bench", "CNI_IFNAME": "eth0",
         "CNI_PATH": "/usr/lib/cni", "PATH": "/usr/bin:/bin"]
    }

    /// Runs one plugin command; returns its wall time in milliseconds.
    static func run(_ plugin: Plugin, _ command: String, _ id: String) throws -> Double {
        let start = now()
        let output = try ChildProcess.run(
            plugin.path, environment: environment(command, id), standardInput: Array(plugin.configuration.utf8),
            timeoutMilliseconds: 60000)
        let elapsed = now() - start
        guard output.status.isSuccess else {
            throw BenchError(message: "\(plugin.label) \(command) \(id) failed: \(output.standardOutputText)")
        }
        return elapsed
    }

    struct BenchError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    /// Starts `count` ADDs at once on separate threads; returns each one's latency.
    static func parallelRound(_ plugin: Plugin, count: Int, round: Int) throws -> [Double] {
        let results = LockedArray()
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread {
                do { results.append(.success(try run(plugin, "ADD", "p\(round)x\(index)"))) } catch { results.append(.failure(error)) }
                group.leave()
            }.start()
        }
        group.wait()
        for index in 0..<count { _ = try run(plugin, "DEL", "p\(round)x\(index)") }
        return try results.values.map { try $0.get() }
    }

    final class LockedArray: @unchecked Sendable {  // guarded by `lock`
        private let lock = NSLock()
        private var storage: [Result<Double, any Error>] = []
        func append(_ value: Result<Double, any Error>) { lock.lock(); storage.append(value); lock.unlock() }
        var values: [Result<Double, any Error>] { lock.lock(); defer { lock.unlock() }; return storage }
    }

    static func main() throws {
        let iterations = Int(option("--iterations", "200")) ?? 200
        let parallel = Int(option("--parallel", "20")) ?? 20
        let rounds = Int(option("--rounds", "10")) ?? 10
        let ownDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let swiftIPAM = option("--swift-ipam", ownDirectory + "/swift-ipam")
        let hostLocal = option("--host-local", "/usr/lib/cni/host-local")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swcni-ipam-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = option("--store", "file:\(directory)/store")

        func hostLocalConfiguration(_ name: String) -> String {
            """
            {"cniVersion":"1.0.0","name":"\(name)","ipam":{"type":"x","ranges":[[{"subnet":"10.99.0.0/16"}]],"dataDir":"\(directory)/data"}}
            """
        }
        var plugins = [
            Plugin(label: "host-local (reference)", path: hostLocal, configuration: hostLocalConfiguration("ref")),
            Plugin(label: "swift-ipam host-local", path: swiftIPAM, configuration: hostLocalConfiguration("swift")),
        ]
        plugins.append(Plugin(
            label: "swift-ipam block (\(store.hasPrefix("etcd:") ? "etcd" : "file store"))", path: swiftIPAM,
            configuration: """
                {"cniVersion":"1.0.0","name":"blk","ipam":{"type":"swift-ipam","mode":"block","pools":[{"cidr":"10.98.0.0/16"}],"datastore":"\(store)","nodeName":"bench"}}
                """))

        print("ipam-bench: \(iterations) sequential ADDs, \(rounds) rounds of \(parallel) parallel ADDs; latency per plugin process, ms")
        print("| plugin | sequential median | sequential p95 | \(parallel)-parallel median | \(parallel)-parallel p95 | round wall median |")
        print("|---|---|---|---|---|---|")
        var medians: [String: (Double, Double)] = [:]
        for plugin in plugins {
            _ = try run(plugin, "ADD", "warmup")
            _ = try run(plugin, "DEL", "warmup")
            var sequential: [Double] = []
            for index in 0..<iterations {
                sequential.append(try run(plugin, "ADD", "s\(index)"))
                _ = try run(plugin, "DEL", "s\(index)")
            }
            var concurrent: [Double] = []
            var walls: [Double] = []
            for round in 0..<rounds {
                let start = now()
                concurrent += try parallelRound(plugin, count: parallel, round: round)
                walls.append(now() - start)
            }
            medians[plugin.label] = (percentile(sequential, 0.5), percentile(concurrent, 0.5))
            print(String(
                format: "| %@ | %.2f | %.2f | %.2f | %.2f | %.1f |", plugin.label, percentile(sequential, 0.5),
                percentile(sequential, 0.95), percentile(concurrent, 0.5), percentile(concurrent, 0.95), percentile(walls, 0.5)))
        }
        if let reference = medians["host-local (reference)"], let swift = medians["swift-ipam host-local"] {
            print(String(
                format: "ratio swift-ipam / host-local (median): sequential %.2f, %d-parallel %.2f",
                swift.0 / reference.0, parallel, swift.1 / reference.1))
        }
    }
}
