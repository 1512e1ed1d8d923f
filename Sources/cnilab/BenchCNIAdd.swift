import ArgumentParser
import Foundation
import Lab
import LabMeasurement

extension Bench {
    struct CNIAdd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cni-add",
            abstract: "Pod ADD and DEL latency (median, p95; plugin process time only) against the reference plugins.",
            discussion: """
                flannel: swift-flannel against bridge + host-local (in process). calico: swift-calico against \
                ptp + host-local (runs calico-cni-bench, built next to cnilab). canal: swift-canal (with pod records \
                in a file store, and without a store) against ptp + host-local over the same node subnet (in \
                process). ptp: swift-ptp (host-local in process) against the reference ptp + host-local, the same \
                configuration but `type` (in process). Plugins are installed as fully \
                static executables (make install-plugins); pass those with --plugin-dir DIR (e.g. the \
                release directory of the plugins' scratch path, or /opt/cni/bin) or --plugin-binary PATH. \
                The binary used is printed, with whether it is static.
                """)
        @Option var pods = 50
        @Option(help: "flannel, calico, canal or ptp.") var plugin = "flannel"
        @Option(name: .customLong("plugin-dir"), help: "Where to look for the plugin binary first (static builds).")
        var pluginDirectory: String?
        @Option(name: [.customLong("plugin-binary"), .customLong("swift-flannel")], help: "The plugin binary itself.")
        var pluginBinary: String?
        @Option(help: "canal: etcd adds pod records in a real etcd over http and over https with a client certificate (same run).")
        var store: String?
        @Flag(name: .customLong("kube-api"), help: "calico: also swift-calico reading each pod (labels, named ports) from an API server over HTTPS at ADD.")
        var kubeAPI = false
        @Flag var json = false

        func run() async throws {
            let binary = try CNIAddBench.pluginBinary(plugin: plugin, directory: pluginDirectory, binary: pluginBinary)
            Output.progress(CNIAddBench.linkageNote(binary))
            switch plugin {
            case "calico":
                guard !json else { throw LabError(.notAvailable, "bench cni-add --plugin calico has no --json yet") }
                let code = try CNIAddBench.calico(pods: pods, binary: binary, kubeAPI: kubeAPI)
                if code != 0 { throw ExitCode(code) }
            case "canal":
                guard store == nil || store == "etcd" else { throw ValidationError("--store: only etcd (canal)") }
                try Bench.show(try CNIAddBench.canal(pods: pods, binary: binary, etcd: store == "etcd"), json: json)
            case "ptp": try Bench.show(try CNIAddBench.ptp(pods: pods, binary: binary), json: json)
            default: try Bench.show(try CNIAddBench.flannel(pods: pods, binary: binary), json: json)
            }
        }
    }
}
