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
            var lines = CanalCNIAddBenchmark.Row.table([ours, reference], pods: pods)
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
        let namespaces = BenchNamespaces(tag: "swcni-pbench-\(getpid())-")
        let work = options.workDirectory
        defer {
            namespaces.deleteAll()
            _ = try? ChildProcess.run("/bin/rm", arguments: ["-rf", work])
        }
        let systems = [
            CNIAddBenchmark.System(
                name: "swift-ptp (host-local in process)", node: try namespaces.create("a"), executable: options.swiftPTP,
                configuration: configuration(type: "swift-ptp", name: "ptp-a", dataDirectory: work + "/ipam-a"),
                pluginPath: options.referencePluginDirectory),
            CNIAddBenchmark.System(
                name: "reference ptp + host-local", node: try namespaces.create("b"), executable: options.referencePluginDirectory + "/ptp",
                configuration: configuration(type: "ptp", name: "ptp-b", dataDirectory: work + "/ipam-b"),
                pluginPath: options.referencePluginDirectory),
        ]
        // Each pod's DELs start with the system its ADDs ended with.
        let rows = try CNIAddBenchmark.measure(systems, pods: options.pods, namespaces: namespaces, deleteOffset: 1)
        return Report(pods: options.pods, ours: rows[0], reference: rows[1])
    }
}
