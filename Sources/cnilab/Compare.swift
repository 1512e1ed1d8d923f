import ArgumentParser
import Foundation
import Lab

/// `cnilab compare`: the same two-node lab built with each plugin in turn, measured the same
/// way, printed as one table ("which CNI should I use?") or as JSON.
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the same lab with each plugin in turn and measure them side by side.",
        discussion: """
            For each plugin (flannel vxlan, calico, and canal when the Lab has its profile): a 2-node lab on \
            the file store; pod ADD/DEL latency through the lab (runtime + plugin + pod server), cross-node TCP \
            throughput (iperf3) and RTT (ping), pod MTU against the underlay MTU, agent RSS per node (the \
            agent's process tree: VmRSS of /proc/PID/status of the agent and its descendants, so canal counts \
            swift-canald and its swift-flanneld), time to converge after a node joins (node add + one pod until \
            every TCP probe connects), NetworkPolicy support (a deny-all ingress policy applied through the lab's policy \
            API, then probed) and, for the plugins that enforce policy, how many of upstream's NetworkPolicy e2e \
            cases pass (cnilab netpol's representative subset; --quick: two of them). Each lab is removed after its measurements.
            --json prints {"plugins":[NAME…],"rows":[{"name":ID,"label":TEXT,"unit":UNIT,\
            "values":{NAME:NUMBER|BOOL|null}}],"errors":{NAME:[TEXT…]}}; null means the measurement failed \
            (its error is listed under errors).
            """)

    @OptionGroup var options: LabOptions
    @Option(help: "Comma-separated plugins to compare (default: every available one: \(ComparisonPlan.availableNames.joined(separator: ","))).")
    var plugins: String?
    @Flag(help: "Fewer pods and shorter runs (about half the time; for tests).") var quick = false
    @Flag var json = false

    func run() async throws {
        let names = plugins.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? ComparisonPlan.availableNames
        let profiles = try names.map { name in
            guard let profile = ComparisonPlan.profile(named: name) else {
                throw LabError(
                    .notAvailable, "compare: no lab profile '\(name)' (available: \(ComparisonPlan.availableNames.joined(separator: ", ")))")
            }
            return profile
        }
        guard !profiles.isEmpty else { throw LabError(.invalidArgument, "compare needs at least one plugin") }
        let settings = quick ? ComparisonSettings.quick : ComparisonSettings.standard
        var results: [ComparisonResult] = []
        for (index, profile) in profiles.enumerated() {
            let name = options.lab + "cmp\(index)"
            let directory = options.stateDirectory.map { $0 + "-cmp\(index)" } ?? LabConfiguration.defaultStateDirectory(lab: name)
            let measurement = ComparisonMeasurement(profile: profile, lab: name, directory: directory, settings: settings)
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

/// Which profiles `compare` knows, by plugin name.
enum ComparisonPlan {
    /// flannel (vxlan), calico (standard timers) and canal when ``PluginProfile`` has a case
    /// that decodes from `{"canal":{}}` (or with a vxlan backend): the canal profile is added to
    /// the Lab separately; this picks it up without a code change here.
    static var profiles: [PluginProfile] {
        [.flannel(backend: .vxlan), .calico(.standard)] + (canal.map { [$0] } ?? [])
    }

    static var availableNames: [String] { profiles.map(\.name) }

    static func profile(named name: String) -> PluginProfile? { profiles.first { $0.name == name } }

    static var canal: PluginProfile? {
        let candidates = [#"{"canal":{}}"#, #"{"canal":{"backend":"vxlan"}}"#, #"{"canal":{"_0":{}}}"#]
        for candidate in candidates {
            if let profile = try? JSONDecoder().decode(PluginProfile.self, from: Data(candidate.utf8)), profile.name == "canal" {
                return profile
            }
        }
        return nil
    }
}

/// How long and how much each measurement runs.
struct ComparisonSettings {
    /// Pods added (and timed) before the others are measured; the first two stay (node 0, node 1).
    var pods: Int
    var iperfSeconds: Int
    var pings: Int
    /// How long to wait for the deny policy to be enforced, and for a joined node to converge.
    var policyTimeoutMilliseconds: Int
    var convergenceTimeoutMilliseconds: Int
    /// How many of the representative netpol cases run (nil: all of them).
    var netpolCaseLimit: Int?

    static let standard = ComparisonSettings(
        pods: 8, iperfSeconds: 3, pings: 20, policyTimeoutMilliseconds: 8_000, convergenceTimeoutMilliseconds: 40_000,
        netpolCaseLimit: nil)
    static let quick = ComparisonSettings(
        pods: 4, iperfSeconds: 1, pings: 5, policyTimeoutMilliseconds: 5_000, convergenceTimeoutMilliseconds: 25_000,
        netpolCaseLimit: 2)
}
