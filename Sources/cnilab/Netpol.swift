import ArgumentParser
import Foundation
import Lab
import LabProfiles
import NetpolConformance
import NetpolConformanceLab
import NetPrimitives

/// `cnilab netpol`: upstream Kubernetes' NetworkPolicy e2e cases as truth tables, run against
/// a fresh lab of each policy-enforcing plugin.
struct Netpol: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run upstream Kubernetes' NetworkPolicy e2e cases against a live lab (calico, canal).",
        discussion: """
            For each plugin: a new 3-node lab (file store unless --store etcd) with namespaces x, y, z and pods \
            a, b, c in each (pod a on node 0, b on node 1, c on node 2), every pod serving TCP and UDP on 80 and \
            81. Each case of test/e2e/network/netpol (re-expressed, see `--list`) applies its policies and label \
            changes through the lab, waits until every node's agent enforces them, probes all 72 ordered pod \
            pairs per protocol and compares with the case's truth table; then the initial state is restored. \
            The lab is removed at the end (--keep leaves it). Exit status 1 when a case fails.
            """)

    enum Plugin: String, ExpressibleByArgument, CaseIterable { case calico, canal, weave }

    @OptionGroup var options: LabOptions
    @Option(help: "Comma-separated plugins: calico, canal, weave (default: calico,canal).") var plugins = "calico,canal"
    @Option(name: .customLong("case"), help: "Run only the cases with this id (repeatable; see --list).") var caseIDs: [String] = []
    @Flag(help: "Run only the representative subset CI runs.") var representative = false
    @Flag(help: "List the cases (and the upstream cases left out) and exit.") var list = false
    @Option(help: "file or etcd.") var store = LabStoreKind.file
    @Option(help: "Probe timeout in milliseconds.") var probeTimeout = 400
    @Option(help: "The labs' address families: ipv4 (default), ipv6 or dual (as `cnilab up --ip-family`).")
    var ipFamily = LabIPFamily.ipv4
    @Option(help: "Probe, and build ipBlock cases, over IPv4 (4) or IPv6 (6) (default: IPv4, or IPv6 in an ipv6 lab).")
    var family: Int?
    @Flag(help: "Keep the lab(s) afterwards.") var keep = false
    @Flag(help: "Through the Kubernetes API: the labs run an API server and swift-kube-sync (`cnilab up --kube`).")
    var kube = false
    @Flag var json = false

    /// `--family`, else the lab's first family.
    var probeFamily: IPAddress.Family { family.map { $0 == 6 ? .v6 : .v4 } ?? (ipFamily.hasIPv4 ? .v4 : .v6) }

    func validate() throws {
        if let family, family != 4, family != 6 { throw ValidationError("--family is 4 or 6, not \(family)") }
        if family == 4, !ipFamily.hasIPv4 { throw ValidationError("--family 4 needs --ip-family ipv4 or dual") }
        if family == 6, !ipFamily.hasIPv6 { throw ValidationError("--family 6 needs --ip-family ipv6 or dual") }
    }

    func run() async throws {
        if list { return printList() }
        let cases = try selectedCases()
        let profiles = try plugins.split(separator: ",").map { name -> (String, any LabProfile) in
            switch Plugin(rawValue: name.trimmingCharacters(in: .whitespaces)) {
            case .calico: ("calico", CalicoProfile(.standard))
            case .canal: ("canal", CanalProfile())
            case .weave: ("weave", WeaveProfile())
            case nil: throw LabError(.invalidArgument, "netpol: unknown plugin '\(name)' (calico, canal, weave)")
            }
        }
        var reports: [NetpolReport] = []
        for (index, (plugin, profile)) in profiles.enumerated() {
            let name = options.lab == "default" ? "netpol\(index)" : options.lab + "np\(index)"
            let directory = options.stateDirectory.map { $0 + "-np\(index)" } ?? LabConfiguration.defaultStateDirectory(lab: name)
            Output.progress("[\(plugin)] creating lab '\(name)': 3 nodes, \(store.rawValue) store\(kube ? ", through the Kubernetes API" : "")\(ipFamily == .ipv4 ? "" : ", \(ipFamily), probing IPv\(probeFamily == .v4 ? 4 : 6)")…")
            let lab = try await Lab.up(
                LabConfiguration(
                    name: name, stateDirectory: directory, profile: profile, nodeCount: 3, store: store, kubernetes: kube, ipFamily: ipFamily))
            do {
                let runner = NetpolRunner(lab: lab, options: NetpolRunOptions(probeTimeoutMilliseconds: probeTimeout, family: probeFamily))
                try await runner.prepare()
                Output.progress("[\(plugin)] running \(cases.count) case(s)…")
                let report = try await runner.run(cases) { result in
                    Output.progress("[\(plugin)] \(result.passed ? "PASS" : "FAIL") \(result.id) (\(String(format: "%.2f", result.seconds)) s)")
                }
                reports.append(report)
                if !keep { try await lab.down() }
            } catch {
                if !keep { _ = try? await lab.down() }
                throw error
            }
        }
        if json {
            try Output.json(reports)
        } else {
            print(reports.map(\.text).joined(separator: "\n\n"))
        }
        if reports.contains(where: { $0.failed > 0 }) { throw ExitCode(1) }
    }

    func selectedCases() throws -> [NetpolCase] {
        var cases = representative ? NetpolCatalogue.representative : NetpolCatalogue.all
        if !caseIDs.isEmpty {
            let known = Set(NetpolCatalogue.all.map(\.id))
            if let unknown = caseIDs.first(where: { !known.contains($0) }) {
                throw LabError(.invalidArgument, "netpol: no case '\(unknown)' (see cnilab netpol --list)")
            }
            cases = cases.filter { caseIDs.contains($0.id) }
        }
        guard !cases.isEmpty else { throw LabError(.invalidArgument, "netpol: no case selected") }
        return cases
    }

    func printList() {
        for netpolCase in NetpolCatalogue.all {
            print("\(netpolCase.isRepresentative ? "*" : " ") \(netpolCase.id)\t\(netpolCase.upstreamTitle)")
        }
        for left in NetpolCatalogue.omitted { print("- left out: \(left.title): \(left.reason)") }
        print("(* = in CI's representative subset; \(NetpolCatalogue.all.count) cases; upstream cases left out: \(NetpolCatalogue.omitted.count))")
    }
}
