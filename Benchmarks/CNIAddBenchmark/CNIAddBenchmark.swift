#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces

/// Pod ADD and DEL latency of swift-flannel against the reference bridge + host-local plugins
/// (what flannel's own CNI plugin delegates to), measured in the same run: each system in its
/// own node namespace, pods as namespaces, calls alternating between the two systems, only the
/// plugin process timed (spawned inside the node namespace, from start to exit).
/// `cnilab bench cni-add` calls ``run(_:)``.
public enum CNIAddBenchmark {
    public struct Options: Sendable {
        public var pods: Int
        /// The swift-flannel binary (release, static Swift runtime).
        public var swiftFlannel: String
        /// Where the reference `bridge` and `host-local` live.
        public var referencePluginDirectory: String
        /// Scratch directory for subnet.env and the address stores (created and removed).
        public var workDirectory: String

        public init(
            pods: Int = 50, swiftFlannel: String, referencePluginDirectory: String = "/usr/lib/cni",
            workDirectory: String = "/tmp/swcni-cni-add-bench-\(getpid())"
        ) {
            self.pods = pods
            self.swiftFlannel = swiftFlannel
            self.referencePluginDirectory = referencePluginDirectory
            self.workDirectory = workDirectory
        }
    }

    /// Median and 95th percentile, in milliseconds.
    public struct Figures: Sendable, CustomStringConvertible {
        public var median: Double
        public var p95: Double
        init(_ samples: [Double]) {
            let sorted = samples.sorted()
            median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
            p95 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)]
        }
        public var description: String { "median \(format(median)) ms, p95 \(format(p95)) ms" }
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var pods: Int
        public var swiftFlannelAdd: Figures
        public var swiftFlannelDelete: Figures
        public var referenceAdd: Figures
        public var referenceDelete: Figures
        public var addRatio: Double { referenceAdd.median == 0 ? 0 : swiftFlannelAdd.median / referenceAdd.median }
        public var description: String {
            """
            pods per system: \(pods)
            swift-flannel        ADD \(swiftFlannelAdd)   DEL \(swiftFlannelDelete)
            bridge + host-local  ADD \(referenceAdd)   DEL \(referenceDelete)
            swift-flannel ADD median / reference ADD median = \(format(addRatio)) (target <= 0.5)
            """
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(_ options: Options) throws -> Report {
        let namespaces = BenchNamespaces(tag: "swcni-bench-\(getpid())-")
        defer {
            namespaces.deleteAll()
            _ = try? ChildProcess.run("/bin/rm", arguments: ["-rf", options.workDirectory])
        }
        _ = try ChildProcess.run("/bin/mkdir", arguments: ["-p", options.workDirectory + "/flannel"])
        let subnetFile = options.workDirectory + "/subnet.env"
        _ = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "printf 'FLANNEL_NETWORK=10.244.0.0/16\\nFLANNEL_SUBNET=10.244.1.1/24\\nFLANNEL_MTU=1450\\nFLANNEL_IPMASQ=true\\n' > \(subnetFile)"])
        let swift = System(
            name: "swift-flannel", node: try namespaces.create("swift"), executable: options.swiftFlannel,
            configuration: """
                {"cniVersion":"1.0.0","name":"cbr0","type":"swift-flannel","subnetFile":"\(subnetFile)",
                 "dataDir":"\(options.workDirectory)/flannel","delegate":{"bridge":"cni0","hairpinMode":true,"isDefaultGateway":true}}
                """,
            pluginPath: options.referencePluginDirectory)
        // What flannel's plugin hands to bridge for the same subnet.env.
        let reference = System(
            name: "bridge", node: try namespaces.create("ref"), executable: options.referencePluginDirectory + "/bridge",
            configuration: """
                {"cniVersion":"1.0.0","name":"cbr0","type":"bridge","bridge":"cni0","isGateway":true,"isDefaultGateway":true,
                 "hairpinMode":true,"ipMasq":false,"mtu":1450,
                 "ipam":{"type":"host-local","subnet":"10.244.1.0/24","dataDir":"\(options.workDirectory)/host-local",
                         "routes":[{"dst":"10.244.0.0/16"}]}}
                """,
            pluginPath: options.referencePluginDirectory)
        // Each pod's DELs start with the system its ADDs ended with.
        let rows = try measure([swift, reference], pods: options.pods, namespaces: namespaces, deleteOffset: 1)
        return Report(
            pods: options.pods, swiftFlannelAdd: rows[0].add, swiftFlannelDelete: rows[0].delete,
            referenceAdd: rows[1].add, referenceDelete: rows[1].delete)
    }
}

func format(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
