#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces

/// Pod ADD and DEL latency of swift-canal against the reference ptp + host-local plugins over
/// the same node subnet (Canal's pod data path is Calico's routed veth with host-local
/// addresses from flannel's subnet.env; ptp + host-local is the reference plugins' closest
/// equivalent). Configurations, each in its own node namespace with its own pods:
/// swift-canal writing pod records to a file store (as in a Canal cluster), swift-canal without
/// a store (the data path alone), and ptp + host-local. ADDs alternate between them (the first
/// one rotating), then DELs likewise; only the plugin process is timed. `cnilab bench cni-add
/// --plugin canal` calls ``run(_:)``.
public enum CanalCNIAddBenchmark {
    public struct Options: Sendable {
        public var pods: Int
        /// The swift-canal binary (release, static Swift runtime).
        public var swiftCanal: String
        /// Where the reference `ptp` and `host-local` live.
        public var referencePluginDirectory: String
        /// Scratch directory for subnet.env, the address stores and the file store (created and removed).
        public var workDirectory: String
        /// With a real etcd as well: two more configurations, pod records in etcd over plain
        /// HTTP and over HTTPS with a client certificate (one etcd, both listeners, in a
        /// namespace of the bench's own; loopback only).
        public var etcd: EtcdFiles?

        /// The PKI for the etcd configurations (the Lab's `EtcdCertificates` makes one).
        public struct EtcdFiles: Sendable {
            public var caFile, serverCertificateFile, serverKeyFile, clientCertificateFile, clientKeyFile: String
            public init(
                caFile: String, serverCertificateFile: String, serverKeyFile: String, clientCertificateFile: String, clientKeyFile: String
            ) {
                self.caFile = caFile
                self.serverCertificateFile = serverCertificateFile
                self.serverKeyFile = serverKeyFile
                self.clientCertificateFile = clientCertificateFile
                self.clientKeyFile = clientKeyFile
            }
        }

        public init(
            pods: Int = 50, swiftCanal: String, referencePluginDirectory: String = "/usr/lib/cni",
            workDirectory: String = "/tmp/swcni-canal-bench-\(getpid())"
        ) {
            self.pods = pods
            self.swiftCanal = swiftCanal
            self.referencePluginDirectory = referencePluginDirectory
            self.workDirectory = workDirectory
        }
    }

    /// One configuration's figures.
    public struct Row: Sendable {
        public var label: String
        public var add: CNIAddBenchmark.Figures
        public var delete: CNIAddBenchmark.Figures
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var pods: Int
        /// swift-canal with the file store, swift-canal without a store, ptp + host-local.
        public var rows: [Row]
        public var reference: Row { rows[rows.count - 1] }
        public var description: String {
            var lines = Row.table(rows, pods: pods)
            if let tls = rows.first(where: { $0.label.contains("https") }),
                let plain = rows.first(where: { $0.label.contains("etcd, http)") }), plain.add.median > 0
            {
                lines.append("etcd https ADD median / etcd http ADD median = \(format(tls.add.median / plain.add.median))")
            }
            for row in rows.dropLast() where reference.add.median > 0 {
                lines.append("\(row.label): ADD median / reference ADD median = \(format(row.add.median / reference.add.median))")
            }
            return lines.joined(separator: "\n")
        }
    }

    public static func run(_ options: Options) throws -> Report {
        let namespaces = BenchNamespaces(tag: "swcni-cbench-\(getpid())-")
        let work = options.workDirectory
        var etcdProcess: RunningProcess?
        defer {
            _ = etcdProcess?.terminate(graceMilliseconds: 2000)
            namespaces.deleteAll()
            _ = try? ChildProcess.run("/bin/rm", arguments: ["-rf", work])
        }
        _ = try ChildProcess.run("/bin/mkdir", arguments: ["-p", work + "/store"])
        // What swift-flanneld writes for node subnet 10.244.1.0/24 on a 1500-byte underlay.
        let subnetFile = work + "/subnet.env"
        _ = try ChildProcess.run(
            "/bin/sh", arguments: ["-c", "printf 'FLANNEL_NETWORK=10.244.0.0/16\\nFLANNEL_SUBNET=10.244.1.1/24\\nFLANNEL_MTU=1450\\nFLANNEL_IPMASQ=false\\n' > \(subnetFile)"])
        var systems = [
            CNIAddBenchmark.System(
                name: "swift-canal + pod records (file store)", node: try namespaces.create("a"), executable: options.swiftCanal,
                configuration: """
                    {"cniVersion":"1.0.0","name":"canal-a","type":"swift-canal","subnetFile":"\(subnetFile)",
                     "dataDir":"\(work)/ipam-a","datastore":"file:\(work)/store","nodeName":"node-1"}
                    """,
                pluginPath: options.referencePluginDirectory),
            CNIAddBenchmark.System(
                name: "swift-canal (no store)", node: try namespaces.create("b"), executable: options.swiftCanal,
                configuration: """
                    {"cniVersion":"1.0.0","name":"canal-b","type":"swift-canal","subnetFile":"\(subnetFile)","dataDir":"\(work)/ipam-b"}
                    """,
                pluginPath: options.referencePluginDirectory),
            CNIAddBenchmark.System(
                name: "reference ptp + host-local", node: try namespaces.create("c"), executable: options.referencePluginDirectory + "/ptp",
                configuration: """
                    {"cniVersion":"1.0.0","name":"canal-c","type":"ptp","ipMasq":false,"mtu":1450,
                     "ipam":{"type":"host-local","subnet":"10.244.1.0/24","dataDir":"\(work)/ipam-c",
                             "routes":[{"dst":"0.0.0.0/0"}]}}
                    """,
                pluginPath: options.referencePluginDirectory),
        ]
        if let files = options.etcd {
            let node = try namespaces.create("e")
            etcdProcess = try startEtcd(in: node, files: files, directory: work + "/etcd")
            let common = #""cniVersion":"1.0.0","type":"swift-canal","subnetFile":"\#(subnetFile)","nodeName":"node-1""#
            let tlsKeys = #""etcd_ca_cert_file":"\#(files.caFile)","etcd_cert_file":"\#(files.clientCertificateFile)","etcd_key_file":"\#(files.clientKeyFile)""#
            systems.insert(contentsOf: [
                CNIAddBenchmark.System(
                    name: "swift-canal + pod records (etcd, https + client certificate)", node: node, executable: options.swiftCanal,
                    configuration: "{\(common),\"name\":\"canal-e\",\"dataDir\":\"\(work)/ipam-e\",\"datastore\":\"etcd:https://127.0.0.1:\(etcdTLSPort)\",\(tlsKeys)}",
                    pluginPath: options.referencePluginDirectory),
                CNIAddBenchmark.System(
                    name: "swift-canal + pod records (etcd, http)", node: node, executable: options.swiftCanal,
                    configuration: "{\(common),\"name\":\"canal-f\",\"dataDir\":\"\(work)/ipam-f\",\"datastore\":\"etcd:http://127.0.0.1:\(etcdPlainPort)\"}",
                    pluginPath: options.referencePluginDirectory),
            ], at: 0)
        }
        let rows = try CNIAddBenchmark.measure(systems, pods: options.pods, namespaces: namespaces)
        return Report(pods: options.pods, rows: rows)
    }
}

extension CanalCNIAddBenchmark {
    static let etcdPlainPort = 23791
    static let etcdTLSPort = 23792

    /// One etcd inside `node` (its loopback brought up), listening on plain HTTP and on HTTPS
    /// with client certificates required; waits until both answer.
    static func startEtcd(in node: NetworkNamespace, files: Options.EtcdFiles, directory: String) throws -> RunningProcess {
        _ = try node.runProcess("/usr/sbin/ip", arguments: ["link", "set", "lo", "up"], timeoutMilliseconds: 5000)
        let process = try node.launchProcess(
            "/usr/bin/etcd",
            arguments: [
                "--name", "bench", "--data-dir", directory,
                "--listen-client-urls", "http://127.0.0.1:\(etcdPlainPort),https://127.0.0.1:\(etcdTLSPort)",
                "--advertise-client-urls", "http://127.0.0.1:\(etcdPlainPort)",
                "--listen-peer-urls", "http://127.0.0.1:23793", "--initial-advertise-peer-urls", "http://127.0.0.1:23793",
                "--initial-cluster", "bench=http://127.0.0.1:23793",
                "--cert-file", files.serverCertificateFile, "--key-file", files.serverKeyFile,
                "--trusted-ca-file", files.caFile, "--client-cert-auth",
            ],
            standardError: .file(directory + ".log"))
        for _ in 0..<100 {
            let health = try node.runProcess(
                "/usr/bin/etcdctl",
                arguments: [
                    "--endpoints", "https://127.0.0.1:\(etcdTLSPort),http://127.0.0.1:\(etcdPlainPort)", "--cacert", files.caFile,
                    "--cert", files.clientCertificateFile, "--key", files.clientKeyFile, "endpoint", "health",
                ],
                environment: ["ETCDCTL_API": "3"], timeoutMilliseconds: 10_000)
            if health.status.isSuccess { return process }
            usleep(100_000)
        }
        _ = process.terminate(graceMilliseconds: 1000)
        throw ChildProcessError(.timedOut, executable: "/usr/bin/etcd")
    }
}
