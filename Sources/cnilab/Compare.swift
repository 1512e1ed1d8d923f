import ArgumentParser
import Foundation
import Lab
import LabMeasurement
import LabProfiles

/// `cnilab compare`: the same two-node lab built with each plugin in turn, measured the same
/// way, printed as one table ("which CNI should I use?") or as JSON.
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the same lab with each plugin in turn and measure them side by side.",
        discussion: """
            For each plugin (flannel vxlan, calico, canal, weave, weave-encrypted with a fresh mesh secret): a 2-node lab on \
            the file store; pod ADD/DEL latency through the lab (runtime + plugin + pod server), cross-node TCP \
            throughput (iperf3) and RTT (ping), pod MTU against the underlay MTU, agent RSS per node (the \
            agent's process tree: VmRSS of /proc/PID/status of the agent and its descendants, so canal counts \
            swift-canald and its swift-flanneld), time to converge after a node joins (node add + one pod until \
            every TCP probe connects), NetworkPolicy support (a deny-all ingress policy applied through the lab's policy \
            API, then probed) and, for the plugins that enforce policy, how many of upstream's NetworkPolicy e2e \
            cases pass (cnilab netpol's representative subset; --quick: two of them), and whether pod traffic is encrypted \
            on the wire (checked by capture: tcpdump on the fabric while a pod pings with a marker). Each lab is removed after its measurements.
            --json prints {"plugins":[NAME…],"rows":[{"name":ID,"label":TEXT,"unit":UNIT,\
            "values":{NAME:NUMBER|BOOL|null}}],"errors":{NAME:[TEXT…]}}; null means the measurement failed \
            (its error is listed under errors).
            """)

    @OptionGroup var options: LabOptions
    @Option(help: "Comma-separated plugins to compare (default: every available one: \(ComparisonPlan.availableNames.joined(separator: ","))).")
    var plugins: String?
    @Flag(help: "Fewer pods and shorter runs (about half the time; for tests).") var quick = false
    @Option(help: "Build each lab over N underlay subnets joined by a router (as `cnilab up --underlay-subnets`; default 1).")
    var underlaySubnets = 1
    @Option(help: "calico: the pool's VXLAN encapsulation in the calico lab (never, always, cross-subnet; as `cnilab up --vxlan-mode`).")
    var vxlanMode: CalicoVXLANMode?
    @Flag var json = false

    func run() async throws {
        let profiles = try ComparisonPlan.profiles(named: plugins)
        let settings = quick ? ComparisonSettings.quick : ComparisonSettings.standard
        var results: [ComparisonFigures] = []
        for (index, var profile) in profiles.enumerated() {
            if let vxlanMode, var calico = profile as? CalicoProfile {
                calico.settings.vxlanMode = vxlanMode
                profile = calico
            }
            let name = options.lab + "cmp\(index)"
            let directory = options.stateDirectory.map { $0 + "-cmp\(index)" } ?? LabConfiguration.defaultStateDirectory(lab: name)
            var measurement = ComparisonMeasurement(
                profile: profile, lab: name, directory: directory, settings: settings, progress: { Output.progress($0) })
            measurement.underlaySubnets = underlaySubnets
            results.append(try await measurement.run())
        }
        let table = ComparisonTable(results: results)
        if json {
            try Output.json(table.document)
        } else {
            print(table.text)
        }
    }
}
