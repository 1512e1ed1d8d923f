import ArgumentParser
import CNIAddBenchmark
import ChildProcess
import Lab

extension Bench {
    struct CNIAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cni-add",
            abstract: "Pod ADD and DEL latency (median, p95; plugin process time only): swift-flannel against bridge+host-local.")
        @Option var pods = 50
        @Option(help: "flannel (calico and canal: not yet available).") var plugin = "flannel"
        @Option(name: .customLong("swift-flannel"), help: "The swift-flannel binary (default: next to cnilab).") var swiftFlannel: String?
        @Flag var json = false

        func run() async throws {
            guard plugin == "flannel" else { throw LabError(.notAvailable, "bench cni-add --plugin \(plugin) is not yet available (flannel is)") }
            guard let binary = swiftFlannel ?? ChildProcess.find("swift-flannel", in: LabConfiguration.defaultExecutableDirectories) else {
                throw LabError(.missingExecutable, "swift-flannel not found next to cnilab; build it or pass --swift-flannel PATH")
            }
            let report = try CNIAddBenchmark.run(CNIAddBenchmark.Options(pods: pods, swiftFlannel: binary))
            if json {
                func metric(_ name: String, _ ours: Double, _ reference: Double) -> Document.Metric {
                    .init(name: name, ours: ours, reference: reference, speedup: ours == 0 ? 0 : reference / ours)
                }
                try Output.json(
                    Document(
                        scenario: "cni-add",
                        metrics: [
                            metric("add_median_ms", report.swiftFlannelAdd.median, report.referenceAdd.median),
                            metric("add_p95_ms", report.swiftFlannelAdd.p95, report.referenceAdd.p95),
                            metric("del_median_ms", report.swiftFlannelDelete.median, report.referenceDelete.median),
                            metric("del_p95_ms", report.swiftFlannelDelete.p95, report.referenceDelete.p95),
                        ]))
            } else {
                print(report)
            }
        }
    }
}
