// swift-ipam against the reference host-local plugin, same run, same config (behind
// `ipam-bench` and `cnilab bench ipam`).
//
// Each sample is the wall time of one plugin process (exec to exit) doing ADD. Sequential: one
// ADD at a time. Parallel: `parallel` ADDs started at once, `rounds` times. Every ADD is
// followed (outside the timing) by a DEL, so the range never fills.
import ChildProcess
import Foundation

public enum IPAMBenchmark {
    public struct Options: Sendable {
        public var iterations = 200
        public var parallel = 20
        public var rounds = 10
        /// The swift-ipam executable.
        public var swiftIPAM: String
        public var hostLocal = "/usr/lib/cni/host-local"
        /// Store of the block mode (`file:DIR` or `etcd:URL`); nil: a file store in the temporary directory.
        public var store: String?

        public init(swiftIPAM: String) { self.swiftIPAM = swiftIPAM }
    }

    /// One plugin's samples, in milliseconds.
    public struct PluginResult: Sendable {
        public var label: String
        public var sequential: [Double]
        public var concurrent: [Double]
        public var roundWalls: [Double]
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var options: Options
        /// Reference host-local, swift-ipam in host-local mode, swift-ipam in block mode.
        public var plugins: [PluginResult]

        public var reference: PluginResult { plugins[0] }
        public var swiftHostLocal: PluginResult { plugins[1] }
        public var swiftBlock: PluginResult { plugins[2] }

        public var description: String {
            var lines = [
                "ipam-bench: \(options.iterations) sequential ADDs, \(options.rounds) rounds of \(options.parallel) parallel ADDs; latency per plugin process, ms",
                "| plugin | sequential median | sequential p95 | \(options.parallel)-parallel median | \(options.parallel)-parallel p95 | round wall median |",
                "|---|---|---|---|---|---|",
            ]
            for plugin in plugins {
                lines.append(String(
                    format: "| %@ | %.2f | %.2f | %.2f | %.2f | %.1f |", plugin.label, percentile(plugin.sequential, 0.5),
                    percentile(plugin.sequential, 0.95), percentile(plugin.concurrent, 0.5), percentile(plugin.concurrent, 0.95),
                    percentile(plugin.roundWalls, 0.5)))
            }
            lines.append(String(
                format: "ratio swift-ipam / host-local (median): sequential %.2f, %d-parallel %.2f",
                percentile(swiftHostLocal.sequential, 0.5) / percentile(reference.sequential, 0.5), options.parallel,
                percentile(swiftHostLocal.concurrent, 0.5) / percentile(reference.concurrent, 0.5)))
            return lines.joined(separator: "\n")
        }
    }

    public static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    public struct BenchmarkError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    struct Plugin {
        var label: String
        var path: String
        var configuration: String
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
            throw BenchmarkError(message: "\(plugin.label) \(command) \(id) failed: \(output.standardOutputText)")
        }
        return elapsed
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

    /// Runs the three plugins one after the other in a temporary directory it removes.
    public static func run(_ options: Options) throws -> Report {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swcni-ipam-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = options.store ?? "file:\(directory)/store"
        func hostLocalConfiguration(_ name: String) -> String {
            """
            {"cniVersion":"1.0.0","name":"\(name)","ipam":{"type":"x","ranges":[[{"subnet":"10.99.0.0/16"}]],"dataDir":"\(directory)/data"}}
            """
        }
        let plugins = [
            Plugin(label: "host-local (reference)", path: options.hostLocal, configuration: hostLocalConfiguration("ref")),
            Plugin(label: "swift-ipam host-local", path: options.swiftIPAM, configuration: hostLocalConfiguration("swift")),
            Plugin(
                label: "swift-ipam block (\(store.hasPrefix("etcd:") ? "etcd" : "file store"))", path: options.swiftIPAM,
                configuration: """
                    {"cniVersion":"1.0.0","name":"blk","ipam":{"type":"swift-ipam","mode":"block","pools":[{"cidr":"10.98.0.0/16"}],"datastore":"\(store)","nodeName":"bench"}}
                    """),
        ]
        var results: [PluginResult] = []
        for plugin in plugins {
            _ = try run(plugin, "ADD", "warmup")
            _ = try run(plugin, "DEL", "warmup")
            var sequential: [Double] = []
            for index in 0..<options.iterations {
                sequential.append(try run(plugin, "ADD", "s\(index)"))
                _ = try run(plugin, "DEL", "s\(index)")
            }
            var concurrent: [Double] = []
            var walls: [Double] = []
            for round in 0..<options.rounds {
                let start = now()
                concurrent += try parallelRound(plugin, count: options.parallel, round: round)
                walls.append(now() - start)
            }
            results.append(PluginResult(label: plugin.label, sequential: sequential, concurrent: concurrent, roundWalls: walls))
        }
        return Report(options: options, plugins: results)
    }
}
