#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces

/// Pod ADD and DEL latency of swift-ptp (host-local in process) against the reference ptp +
/// host-local, the same configuration but `type`, each in its own node namespace with its own
/// pods and data directory. ADDs alternate between them, then DELs likewise; only the plugin
/// process is timed. `cnilab bench cni-add --plugin ptp` calls ``run(_:)``.
public enum PTPCNIAddBenchmark {
    public struct Options: Sendable {
        public var pods: Int
        /// The swift-ptp binary (release, fully static for figures comparable to an install).
        public var swiftPTP: String
        /// Where the reference `ptp` and `host-local` live.
        public var referencePluginDirectory: String
        /// Scratch directory for the address stores (created and removed).
        public var workDirectory: String

        public init(
            pods: Int = 50, swiftPTP: String, referencePluginDirectory: String = "/usr/lib/cni",
            workDirectory: String = "/tmp/swcni-ptp-bench-\(getpid())"
        ) {
            self.pods = pods
            self.swiftPTP = swiftPTP
            self.referencePluginDirectory = referencePluginDirectory
            self.workDirectory = workDirectory
        }
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var pods: Int
        public var ours: CanalCNIAddBenchmark.Row
        public var reference: CanalCNIAddBenchmark.Row
        public var addRatio: Double { reference.add.median == 0 ? 0 : ours.add.median / reference.add.median }
        public var description: String {
            var lines = [
                "pods per configuration: \(pods)",
                "| Configuration | ADD median (ms) | ADD p95 (ms) | DEL median (ms) | DEL p95 (ms) |",
                "|---|---|---|---|---|",
            ]
            for row in [ours, reference] {
                lines.append("| \(row.label) | " + [row.add.median, row.add.p95, row.delete.median, row.delete.p95].map(format).joined(separator: " | ") + " |")
            }
            lines.append("swift-ptp ADD median / reference ADD median = \(format(addRatio))")
            return lines.joined(separator: "\n")
        }
    }

    /// The configuration both run: the reference ptp's keys, `type` aside.
    static func configuration(type: String, name: String, dataDirectory: String) -> String {
        """
        {"cniVersion":"1.0.0","name":"\(name)","type":"\(type)","ipMasq":false,"mtu":1500,
         "ipam":{"type":"host-local","subnet":"10.88.0.0/16","dataDir":"\(dataDirectory)","routes":[{"dst":"0.0.0.0/0"}]}}
        """
    }

    public static func run(_ options: Options) throws -> Report {
        let tag = "swcni-pbench-\(getpid())-"
        var created: [String] = []
        let work = options.workDirectory
        defer {
            for name in created { try? NetworkNamespace.delete(name: name) }
            _ = try? ChildProcess.run("/bin/rm", arguments: ["-rf", work])
        }
        func namespace(_ suffix: String) throws -> NetworkNamespace {
            let name = tag + suffix
            let namespace = try NetworkNamespace.create(name: name)
            created.append(name)
            return namespace
        }
        let systems = [
            CNIAddBenchmark.System(
                name: "swift-ptp (host-local in process)", node: try namespace("a"), executable: options.swiftPTP,
                configuration: configuration(type: "swift-ptp", name: "ptp-a", dataDirectory: work + "/ipam-a"),
                pluginPath: options.referencePluginDirectory),
            CNIAddBenchmark.System(
                name: "reference ptp + host-local", node: try namespace("b"), executable: options.referencePluginDirectory + "/ptp",
                configuration: configuration(type: "ptp", name: "ptp-b", dataDirectory: work + "/ipam-b"),
                pluginPath: options.referencePluginDirectory),
        ]
        var pods: [[NetworkNamespace]] = Array(repeating: [], count: systems.count)
        for which in systems.indices {
            for index in 0..<options.pods { pods[which].append(try namespace("\(which)p\(index)")) }
            // Warm-up (pages the binaries in, creates the data directories), not counted.
            let warm = try namespace("\(which)w")
            _ = try CNIAddBenchmark.invoke(systems[which], command: "ADD", containerID: "warm", pod: warm)
            _ = try CNIAddBenchmark.invoke(systems[which], command: "DEL", containerID: "warm", pod: warm)
        }
        var adds: [[Double]] = Array(repeating: [], count: systems.count)
        var deletes: [[Double]] = Array(repeating: [], count: systems.count)
        for index in 0..<options.pods {
            for which in (index % 2 == 0 ? [0, 1] : [1, 0]) {
                adds[which].append(try CNIAddBenchmark.invoke(systems[which], command: "ADD", containerID: "pod\(index)", pod: pods[which][index]))
            }
        }
        for index in 0..<options.pods {
            for which in (index % 2 == 0 ? [1, 0] : [0, 1]) {
                deletes[which].append(
                    try CNIAddBenchmark.invoke(systems[which], command: "DEL", containerID: "pod\(index)", pod: pods[which][index]))
            }
        }
        let rows = systems.indices.map {
            CanalCNIAddBenchmark.Row(label: systems[$0].name, add: .init(adds[$0]), delete: .init(deletes[$0]))
        }
        return Report(pods: options.pods, ours: rows[0], reference: rows[1])
    }
}
