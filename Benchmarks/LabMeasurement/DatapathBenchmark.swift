import Foundation
import Lab
import LabProfiles
import Mesh

/// Cross-node pod-to-pod TCP throughput (iperf3, one stream), round-trip time (ping) and CPU
/// per Gbit/s of several data paths in one run (`cnilab bench datapath`), each between a pod
/// on node 0 and a pod on node 1 of a two-node lab on the same fabric:
/// - `flannel` (`--backend`) and its `flannel-baseline` built by hand (VXLAN on 4789 at MTU
///   1450 for vxlan, static routes for host-gw), as before;
/// - `weave-fast`, `weave-sleeve` (UDP 6784 blocked between the nodes with the lab's
///   `link block --udp-port 6784`) and `weave-encrypted` (a mesh secret; the nodes untrusted);
/// - the references built by hand on a reference lab (kernel bridge, reference plugins, no
///   agent), their routes swapped in per mode: `vxlan` (kernel VXLAN on UDP 6784, the fast
///   path's reference), `wireguard-go` and `tinc` (router mode, encrypted).
///
/// MTU policy: the weave modes and their references give pods weave's MTU (read from the weave
/// lab's pod; underlay − 91 when no weave lab runs); flannel's two modes keep flannel's 1450.
/// Each round runs every mode once, in order, so load on the machine hits all alike; the
/// report gives medians and the ratios as medians of per-round ratios
/// (``DatapathReport``). The labs are named `<lab>dpo`, `dpr`, `dpw`, `dps`, `dpe`; keys,
/// tinc's configuration and the mesh secret live in a temporary directory of the run, removed
/// at the end with the labs.
public struct DatapathBenchmark: Sendable {
    public var lab: String
    public var backend: FlannelBackend
    /// iperf3 seconds per measurement.
    public var seconds: Int
    public var modes: [DatapathMode]
    public var rounds: Int
    public var pings: Int
    public var progress: (@Sendable (String) -> Void)?

    public init(
        lab: String, backend: FlannelBackend = .vxlan, seconds: Int = 3, modes: [DatapathMode] = DatapathMode.allCases,
        rounds: Int = 1, pings: Int = 20, progress: (@Sendable (String) -> Void)? = nil
    ) {
        self.lab = lab
        self.backend = backend
        self.seconds = seconds
        self.modes = modes
        self.rounds = rounds
        self.pings = pings
        self.progress = progress
    }

    /// The pods' MTU difference from the underlay under weave's policy (IPv4 20, UDP 8, the
    /// sleeve's 9-byte header, a sealed record's 40 bytes, the inner Ethernet header 14).
    public static let weaveMTUOverhead = 91

    public func run() async throws -> BenchOutput {
        guard rounds > 0, seconds > 0, !modes.isEmpty else { throw LabError(.invalidArgument, "datapath: --rounds, --seconds and --modes must not be empty or zero") }
        let directory = try RunDirectory.make(prefix: "cnilab-datapath-")
        var labs: [DatapathLab: DatapathLabSetup] = [:]
        var handBuilt = HandBuiltPaths()
        var errors: [String] = []
        var samples: [DatapathSample] = []
        var notes: [String] = []
        do {
            for kind in DatapathLab.allCases where modes.contains(where: { $0.lab == kind }) {
                labs[kind] = try await bringUp(kind, directory: directory)
            }
            let weaveMTU = try weavePodMTU(labs)
            if let reference = labs[.reference] {
                try await handBuilt.build(modes: modes, backend: backend, lab: reference, directory: directory, progress: progress)
            }
            var usable = modes
            for mode in modes {
                guard let setup = labs[mode.lab] else { continue }
                do { try await setup.waitForPath(of: mode, progress: progress) } catch {
                    errors.append("\(mode): \(error)")
                    usable.removeAll { $0 == mode }
                }
            }
            notes.append(
                "pod MTU: weave's (underlay − \(Self.weaveMTUOverhead) = \(weaveMTU)) for the weave modes and vxlan, wireguard-go, tinc; flannel's modes: \(flannelMTU)")
            notes.append("load average at start: \(Self.loadAverage())")
            for round in 1...rounds {
                for mode in usable {
                    guard let setup = labs[mode.lab] else { continue }
                    do {
                        let mtu = mode == .flannel || mode == .flannelBaseline ? flannelMTU : weaveMTU
                        if mode.lab == .reference { try handBuilt.activate(mode, podMTU: mtu, lab: setup) }
                        progress?("round \(round)/\(rounds) \(mode): ping ×\(pings), iperf3 \(seconds) s…")
                        let daemons = setup.agentProcesses + handBuilt.daemons(of: mode)
                        samples.append(try await setup.measure(mode: mode, round: round, seconds: seconds, pings: pings, daemons: daemons))
                    } catch {
                        errors.append("round \(round) \(mode): \(error)")
                        progress?("round \(round) \(mode) failed: \(error)")
                    }
                }
            }
            notes.append("load average at end: \(Self.loadAverage())")
        } catch {
            await Self.tearDown(labs: labs, handBuilt: &handBuilt, directory: directory, progress: progress)
            throw error
        }
        await Self.tearDown(labs: labs, handBuilt: &handBuilt, directory: directory, progress: progress)
        let report = DatapathReport(samples: samples, errors: errors, modes: modes, rounds: rounds, seconds: seconds, pings: pings, notes: notes)
        return BenchOutput(text: report.text, document: report.document)
    }

    /// flannel's pods: 1450 with vxlan (its overlay), the underlay's 1500 with host-gw.
    var flannelMTU: Int { backend == .vxlan ? HandBuiltVXLAN.overlayMTU : 1500 }

    /// Stops the hand-built tunnels, removes the labs and the run's directory.
    static func tearDown(
        labs: [DatapathLab: DatapathLabSetup], handBuilt: inout HandBuiltPaths, directory: String, progress: (@Sendable (String) -> Void)?
    ) async {
        handBuilt.remove()
        for setup in labs.values {
            progress?("removing lab '\(setup.lab.name)'…")
            _ = try? await setup.lab.down()
        }
        RunDirectory.remove(directory)
    }

    func profile(for kind: DatapathLab, directory: String) throws -> any LabProfile {
        switch kind {
        case .flannel: return FlannelProfile(backend: backend)
        case .reference: return ReferenceProfile()
        case .weave, .weaveBlocked: return WeaveProfile()
        case .weaveEncrypted:
            let secret = directory + "/weave.secret"
            _ = try MeshSecret.generateFile(atPath: secret)
            return WeaveProfile(secretFile: secret)
        }
    }

    func bringUp(_ kind: DatapathLab, directory: String) async throws -> DatapathLabSetup {
        let name = self.lab + kind.suffix
        let state = LabConfiguration.defaultStateDirectory(lab: name)
        let labProfile = try profile(for: kind, directory: directory)
        progress?("[\(labProfile)] creating lab '\(name)'…")
        _ = try? Lab.down(name: name, stateDirectory: state)
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: state, profile: labProfile, nodeCount: 2))
        do {
            let client = try await lab.addPod(try PodReference(parsing: "bench/client"), node: 0)
            let server = try await lab.addPod(try PodReference(parsing: "bench/server"), node: 1)
            if kind == .weaveBlocked {
                progress?("[\(labProfile)] blocking UDP 6784 between node 0 and node 1 (the sleeve)…")
                try await lab.blockLink(0, 1, udpPort: 6784)
            }
            return try await DatapathLabSetup(kind: kind, lab: lab, client: client, server: server)
        } catch {
            _ = try? await lab.down()
            throw error
        }
    }

    /// Weave's pod MTU: the weave lab's pod's, else the reference lab's underlay − 91.
    func weavePodMTU(_ labs: [DatapathLab: DatapathLabSetup]) throws -> Int {
        for kind in [DatapathLab.weave, .weaveBlocked, .weaveEncrypted] {
            if let setup = labs[kind] { return try setup.podMTU() }
        }
        guard let setup = labs[.reference] ?? labs.values.first else { return 1500 - Self.weaveMTUOverhead }
        return try setup.underlayMTU() - Self.weaveMTUOverhead
    }

    static func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").split(separator: " ").prefix(3).joined(separator: " ")
    }
}
