import ArgumentParser
import CNIAddBenchmark
import ChildProcess
import Foundation
import Lab

extension Bench {
    struct CNIAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cni-add",
            abstract: "Pod ADD and DEL latency (median, p95; plugin process time only) against the reference plugins.",
            discussion: """
                flannel: swift-flannel against bridge + host-local (in process). calico: swift-calico against \
                ptp + host-local (runs calico-cni-bench, built next to cnilab). canal: swift-canal (with pod records \
                in a file store, and without a store) against ptp + host-local over the same node subnet (in \
                process). Plugins are installed as fully \
                static executables (make install-plugins); pass those with --plugin-dir DIR (e.g. the \
                release directory of the plugins' scratch path, or /opt/cni/bin) or --plugin-binary PATH. \
                The binary used is printed, with whether it is static.
                """)
        @Option var pods = 50
        @Option(help: "flannel, calico or canal.") var plugin = "flannel"
        @Option(name: .customLong("plugin-dir"), help: "Where to look for the plugin binary first (static builds).")
        var pluginDirectory: String?
        @Option(name: [.customLong("plugin-binary"), .customLong("swift-flannel")], help: "The plugin binary itself.")
        var pluginBinary: String?
        @Flag var json = false

        func run() async throws {
            let name: String
            switch plugin {
            case "flannel": name = "swift-flannel"
            case "calico": name = "swift-calico"
            case "canal": name = "swift-canal"
            default: throw LabError(.invalidArgument, "bench cni-add --plugin \(plugin): flannel, calico or canal")
            }
            let directories = (pluginDirectory.map { [$0] } ?? []) + LabConfiguration.defaultExecutableDirectories
            guard let binary = pluginBinary ?? ChildProcess.find(name, in: directories) else {
                throw LabError(.missingExecutable, "\(name) not found in \(directories.joined(separator: ":")); build it or pass --plugin-dir DIR")
            }
            let linkage = Self.isStaticExecutable(binary) ? "static" : "dynamically linked: build it static for figures comparable to an install"
            FileHandle.standardError.write(Data("plugin: \(binary) (\(linkage))\n".utf8))
            if plugin == "calico" {
                try runCalico(binary: binary)
                return
            }
            if plugin == "canal" {
                try runCanal(binary: binary)
                return
            }
            let report = try CNIAddBenchmark.run(CNIAddBenchmark.Options(pods: pods, swiftFlannel: binary))
            if json {
                try Output.json(
                    Document(
                        scenario: "cni-add",
                        metrics: [
                            Document.Metric.time("add_median_ms", ours: report.swiftFlannelAdd.median, reference: report.referenceAdd.median),
                            Document.Metric.time("add_p95_ms", ours: report.swiftFlannelAdd.p95, reference: report.referenceAdd.p95),
                            Document.Metric.time("del_median_ms", ours: report.swiftFlannelDelete.median, reference: report.referenceDelete.median),
                            Document.Metric.time("del_p95_ms", ours: report.swiftFlannelDelete.p95, reference: report.referenceDelete.p95),
                        ]))
            } else {
                print(report)
            }
        }

        /// swift-canal against ptp + host-local, in process.
        func runCanal(binary: String) throws {
            let report = try CanalCNIAddBenchmark.run(CanalCNIAddBenchmark.Options(pods: pods, swiftCanal: binary))
            guard json else {
                print(report)
                return
            }
            // ours: swift-canal as a Canal cluster runs it (pod records in the store).
            let (ours, reference) = (report.rows[0], report.reference)
            try Output.json(
                Document(
                    scenario: "cni-add-canal",
                    metrics: [
                        Document.Metric.time("add_median_ms", ours: ours.add.median, reference: reference.add.median),
                        Document.Metric.time("add_p95_ms", ours: ours.add.p95, reference: reference.add.p95),
                        Document.Metric.time("del_median_ms", ours: ours.delete.median, reference: reference.delete.median),
                        Document.Metric.time("del_p95_ms", ours: ours.delete.p95, reference: reference.delete.p95),
                        Document.Metric.time("add_median_ms_no_store", ours: report.rows[1].add.median, reference: reference.add.median),
                        Document.Metric.time("del_median_ms_no_store", ours: report.rows[1].delete.median, reference: reference.delete.median),
                    ]))
        }

        /// calico-cni-bench (its own executable, next to cnilab) with this plugin binary.
        func runCalico(binary: String) throws {
            guard !json else { throw LabError(.notAvailable, "bench cni-add --plugin calico has no --json yet") }
            guard let bench = ChildProcess.find("calico-cni-bench", in: LabConfiguration.defaultExecutableDirectories) else {
                throw LabError(.missingExecutable, "calico-cni-bench not found next to cnilab; build it: swift build --product calico-cni-bench")
            }
            let process = try ChildProcess.launch(
                bench, arguments: ["--pods", String(pods), "--plugin", binary], standardOutput: .inherit, standardError: .inherit)
            guard case .exited(let code) = try process.wait() else { throw ExitCode(128) }
            if code != 0 { throw ExitCode(code) }
        }

        /// Whether `path` is an ELF executable without a program interpreter (PT_INTERP).
        static func isStaticExecutable(_ path: String) -> Bool {
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
}
