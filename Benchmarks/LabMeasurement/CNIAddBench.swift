import CNIAddBenchmark
import ChildProcess
import Foundation
import Lab

/// `cnilab bench cni-add`: pod ADD and DEL latency (plugin process time only) of the project's
/// plugins against the reference plugins.
public enum CNIAddBench {
    /// The plugin executable each `--plugin` measures: `flannel`, `calico`, `canal`, `ptp`.
    public static func executableName(plugin: String) throws -> String {
        switch plugin {
        case "flannel": "swift-flannel"
        case "calico": "swift-calico"
        case "canal": "swift-canal"
        case "ptp": "swift-ptp"
        default: throw LabError(.invalidArgument, "bench cni-add --plugin \(plugin): flannel, calico, canal or ptp")
        }
    }

    /// The plugin binary: `binary` when given, else `executableName` in `directory`, then next to the program.
    public static func pluginBinary(plugin: String, directory: String?, binary: String?) throws -> String {
        let name = try executableName(plugin: plugin)
        if let binary { return binary }
        return try LabBench.executable(name, in: directory.map { [$0] } ?? [], advice: "build it or pass --plugin-dir DIR")
    }

    /// The line `cnilab bench cni-add` prints to stderr about the binary it measures.
    public static func linkageNote(_ binary: String) -> String {
        let linkage = isStaticExecutable(binary) ? "static" : "dynamically linked: build it static for figures comparable to an install"
        return "plugin: \(binary) (\(linkage))"
    }

    /// swift-flannel against bridge + host-local, in process.
    public static func flannel(pods: Int, binary: String) throws -> BenchOutput {
        let report = try CNIAddBenchmark.run(CNIAddBenchmark.Options(pods: pods, swiftFlannel: binary))
        let document = BenchDocument(
            scenario: "cni-add",
            metrics: latencies(
                ours: (report.swiftFlannelAdd, report.swiftFlannelDelete), reference: (report.referenceAdd, report.referenceDelete)))
        return BenchOutput(text: report.description, document: document)
    }

    /// swift-canal (pod records in a file store, and without a store) against ptp + host-local, in process.
    /// `etcd`: pod records in a real etcd too, over plain HTTP and over HTTPS with a client
    /// certificate (a PKI made with openssl in a temporary directory), in the same run.
    public static func canal(pods: Int, binary: String, etcd: Bool = false) throws -> BenchOutput {
        var options = CanalCNIAddBenchmark.Options(pods: pods, swiftCanal: binary)
        let pkiDirectory = "/tmp/swcni-canal-bench-pki-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: pkiDirectory) }
        if etcd {
            try FileManager.default.createDirectory(atPath: pkiDirectory, withIntermediateDirectories: true)
            let pki = try EtcdCertificates.generate(in: pkiDirectory, serverAddresses: ["127.0.0.1"])
            options.etcd = .init(
                caFile: pki.caFile, serverCertificateFile: pki.serverCertificateFile, serverKeyFile: pki.serverKeyFile,
                clientCertificateFile: pki.clientCertificateFile, clientKeyFile: pki.clientKeyFile)
        }
        let report = try CanalCNIAddBenchmark.run(options)
        func row(_ label: String) -> CanalCNIAddBenchmark.Row? { report.rows.first { $0.label.contains(label) } }
        // ours: swift-canal as a Canal cluster runs it (pod records in the store).
        let (ours, reference) = (row("file store") ?? report.rows[0], report.reference)
        let noStore = row("no store") ?? report.rows[1]
        var etcdMetrics: [BenchDocument.Metric] = []
        if let tls = row("https"), let plain = row("etcd, http)") {
            etcdMetrics = [
                .time("add_median_ms_etcd_https", ours: tls.add.median, reference: reference.add.median),
                .time("add_median_ms_etcd_http", ours: plain.add.median, reference: reference.add.median),
            ]
        }
        let document = BenchDocument(
            scenario: "cni-add-canal",
            metrics: latencies(ours: (ours.add, ours.delete), reference: (reference.add, reference.delete)) + [
                .time("add_median_ms_no_store", ours: noStore.add.median, reference: reference.add.median),
                .time("del_median_ms_no_store", ours: noStore.delete.median, reference: reference.delete.median),
            ] + etcdMetrics)
        return BenchOutput(text: report.description, document: document)
    }

    /// swift-ptp (host-local in process) against the reference ptp + host-local, same configuration, in process.
    public static func ptp(pods: Int, binary: String) throws -> BenchOutput {
        let report = try PTPCNIAddBenchmark.run(PTPCNIAddBenchmark.Options(pods: pods, swiftPTP: binary))
        let (ours, reference) = (report.ours, report.reference)
        let document = BenchDocument(
            scenario: "cni-add-ptp",
            metrics: latencies(ours: (ours.add, ours.delete), reference: (reference.add, reference.delete)))
        return BenchOutput(text: report.description, document: document)
    }

    /// `add_median_ms`, `add_p95_ms`, `del_median_ms`, `del_p95_ms`: ours against the reference.
    static func latencies(
        ours: (add: CNIAddBenchmark.Figures, delete: CNIAddBenchmark.Figures),
        reference: (add: CNIAddBenchmark.Figures, delete: CNIAddBenchmark.Figures)
    ) -> [BenchDocument.Metric] {
        [
            .time("add_median_ms", ours: ours.add.median, reference: reference.add.median),
            .time("add_p95_ms", ours: ours.add.p95, reference: reference.add.p95),
            .time("del_median_ms", ours: ours.delete.median, reference: reference.delete.median),
            .time("del_p95_ms", ours: ours.delete.p95, reference: reference.delete.p95),
        ]
    }

    /// swift-calico against ptp + host-local: runs `calico-cni-bench` (its own executable, next
    /// to the program) with this plugin binary, its output on ours; returns its exit status.
    /// `kubeAPI`: also swift-calico reading each pod from an API server at ADD (`--kube-api`).
    public static func calico(pods: Int, binary: String, kubeAPI: Bool = false) throws -> Int32 {
        guard let bench = ChildProcess.find("calico-cni-bench", in: LabConfiguration.defaultExecutableDirectories) else {
            throw LabError(.missingExecutable, "calico-cni-bench not found next to cnilab; build it: swift build --product calico-cni-bench")
        }
        let process = try ChildProcess.launch(
            bench, arguments: ["--pods", String(pods), "--plugin", binary] + (kubeAPI ? ["--kube-api"] : []),
            standardOutput: .inherit, standardError: .inherit)
        guard case .exited(let code) = try process.wait() else { return 128 }
        return code
    }

    /// Whether `path` is an ELF executable without a program interpreter (PT_INTERP).
    public static func isStaticExecutable(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let header = try? handle.read(upToCount: 4096), header.count >= 64 else { return false }
        let bytes = [UInt8](header)
        guard bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46, bytes[4] == 2 else { return false }
        func integer(_ offset: Int, _ size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        let (table, entrySize, count) = (integer(0x20, 8), integer(0x36, 2), integer(0x38, 2))
        for index in 0..<count {
            let offset = table + index * entrySize
            guard offset + 4 <= bytes.count else { return false }
            if integer(offset, 4) == 3 { return false }  // PT_INTERP
        }
        return true
    }
}
