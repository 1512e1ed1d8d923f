import ArgumentParser
import Foundation
import Lab
import LabProfiles

/// `cnilab`: a multi-node CNI lab on one machine, a thin shell over the Lab library.
@main
struct CNILab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnilab",
        abstract: "A multi-node CNI lab of network namespaces on this machine.",
        discussion: """
            A lab is a fabric namespace with a bridge as the underlay, N node namespaces attached to it, \
            pods as namespaces on nodes and each node's agent running inside its node namespace. Nothing is \
            configured in the machine's own namespace. State lives in /run/cnilab/<lab> \
            (CNILAB_STATE_DIR or --state-dir to change); binaries are found next to cnilab (CNILAB_BIN_DIR).
            """,
        subcommands: [
            Up.self, NodeCommand.self, AgentCommandGroup.self, PodCommand.self, NamespaceCommand.self, Exec.self,
            Probe.self, Status.self, Logs.self, Bench.self, Down.self, Demo.self, PolicyCommand.self, Compare.self, Netpol.self,
            LinkCommand.self, KubeconfigCommand.self, BGPCommand.self,
        ])
}

/// `--lab NAME` and `--state-dir DIR`, on every command.
struct LabOptions: ParsableArguments {
    @Option(name: .long, help: "The lab's name (lowercase letters and digits).")
    var lab = "default"

    @Option(name: .customLong("state-dir"), help: "The lab's state directory (default: $CNILAB_STATE_DIR/<lab> or /run/cnilab/<lab>).")
    var stateDirectory: String?

    var directory: String { stateDirectory ?? LabConfiguration.defaultStateDirectory(lab: lab) }

    func open() throws -> Lab { try Lab.open(name: lab, stateDirectory: directory, profiles: LabProfiles.all) }
}

/// Writes JSON documents with stable key order.
enum Output {
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Progress lines go to stderr so stdout stays machine-readable.
    static func progress(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a lab: fabric, nodes, agents.")

    enum Plugin: String, ExpressibleByArgument, CaseIterable {
        case flannel, calico, canal, weave
        /// The reference bridge + host-local plugins with static routes (for testing the lab).
        case reference
    }

    @OptionGroup var options: LabOptions
    @Option(help: "flannel, calico, canal or weave (reference: the reference plugins, for testing).") var plugin = Plugin.flannel
    @Option(help: "The number of nodes (numbered 0..N-1).") var nodes = 2
    @Option(help: "file (embedded, default) or etcd (a real etcd inside the fabric namespace).") var store = LabStoreKind.file
    @Flag(help: "With --store etcd: etcd serves https only and requires client certificates (made with openssl in the lab's directory).")
    var etcdTls = false
    @Option(help: "flannel's backend: vxlan or host-gw.") var backend = FlannelBackend.vxlan
    @Option(help: "calico: the BGP hold time in seconds (default 9).") var holdTime: Int?
    @Option(help: "calico: seconds the peers keep a killed agent's routes (default 30).") var gracefulRestartTime: Int?
    @Option(help: "calico: the IP pool (default 10.244.0.0/16).") var pool: String?
    @Option(help: "calico: the IPAM block size (default 26); a pool with fewer blocks than nodes makes nodes borrow.") var blockSize: Int?
    @Option(help: "calico: the pool's VXLAN encapsulation: never (routes only, default), always or cross-subnet.") var vxlanMode: CalicoVXLANMode?
    @Option(help: "weave: the mesh secret file (from swift-weaved generate-secret) every agent gets.") var secretFile: String?
    @Option(help: "weave: underlay networks whose traffic needs no encryption (comma-separated CIDRs).") var trustedSubnets: String?
    @Option(help: "Spread the nodes round-robin over N underlay subnets joined by a router that routes only the underlay, as a cloud VPC does (default 1).")
    var underlaySubnets = 1
    @Option(help: "The pods' address families: ipv4 (default), ipv6 or dual; with ipv6 and dual the underlay also gets IPv6 (fd77::/64).")
    var ipFamily = LabIPFamily.ipv4
    @Flag(help: .hidden) var standInAgent = false
    @Flag(help: "Run a Kubernetes API server and swift-kube-sync in the fabric namespace; pods, labels and NetworkPolicies then go through the API (see `cnilab kubeconfig`).")
    var kube = false

    func run() async throws {
        let profile: any LabProfile
        switch plugin {
        case .flannel: profile = FlannelProfile(backend: backend)
        case .reference:
            profile = ReferenceProfile(agent: standInAgent ? AgentCommand(executable: "/usr/bin/sleep", arguments: ["infinity"]) : nil)
        case .calico:
            profile = CalicoProfile(
                CalicoSettings(
                    holdTime: holdTime ?? CalicoSettings.standard.holdTime,
                    connectRetryTime: CalicoSettings.standard.connectRetryTime,
                    gracefulRestartTime: gracefulRestartTime ?? CalicoSettings.standard.gracefulRestartTime,
                    pool: pool, blockSize: blockSize, vxlanMode: vxlanMode))
        case .canal: profile = CanalProfile()
        case .weave:
            profile = WeaveProfile(
                secretFile: secretFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path },
                trustedSubnets: trustedSubnets.map { $0.split(separator: ",").map { String($0) } } ?? [])
        }
        if plugin != .weave, secretFile != nil || trustedSubnets != nil {
            throw ValidationError("--secret-file and --trusted-subnets are options of --plugin weave")
        }
        Output.progress("creating lab '\(options.lab)' (\(profile), \(nodes) nodes\(underlaySubnets > 1 ? " over \(underlaySubnets) underlay subnets" : "")\(ipFamily == .ipv4 ? "" : ", \(ipFamily)"), \(store.rawValue)\(etcdTls ? " TLS" : "") store\(kube ? ", Kubernetes API" : ""))…")
        let lab = try await Lab.up(
            LabConfiguration(name: options.lab, stateDirectory: options.directory, profile: profile, nodeCount: nodes, store: store,
                progress: { Output.progress("  " + $0) }, kubernetes: kube, etcdTLS: etcdTls,
                underlaySubnets: underlaySubnets, ipFamily: ipFamily))
        for node in await lab.nodes() {
            print("node \(node.index) \(node.name) \(node.underlayAddress) subnet \(node.subnet ?? "-") agent \(node.agent.rawValue)")
        }
    }
}

extension LabStoreKind: ExpressibleByArgument {}
extension FlannelBackend: ExpressibleByArgument {}
extension CalicoVXLANMode: ExpressibleByArgument {}
extension LabIPFamily: ExpressibleByArgument {}

struct Down: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove every namespace, process and file of the lab.")
    @OptionGroup var options: LabOptions

    func run() async throws {
        let report = try Lab.down(name: options.lab, stateDirectory: options.directory)
        print("lab '\(options.lab)' removed: \(report.deletedNamespaces.count) namespaces, \(report.stoppedProcesses) processes")
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the lab's nodes, agents and pod count.")
    @OptionGroup var options: LabOptions
    @Flag var json = false

    struct Document: Encodable {
        struct Node: Encodable {
            var index: Int
            var name: String
            var agent: String
            var subnet: String?
            /// calico: BGP sessions Established and configured (the agent's own status).
            var bgpSessions: BGPSessions?
        }
        struct BGPSessions: Encodable {
            var established: Int
            var configured: Int
        }
        var lab: String
        var plugin: String
        var store: String
        var nodes: [Node]
        var pods: Int
        var ipFamily: String
    }

    func run() async throws {
        let lab = try options.open()
        let status = try await lab.status()
        // calico: each running agent's BGP sessions (route reflectors make them O(N)).
        var sessions: [Int: Document.BGPSessions] = [:]
        if status.plugin == "calico" {
            for node in status.nodes where node.agent == .running {
                if let report = try? await lab.bgpSessions(node.index) {
                    sessions[node.index] = .init(established: report.established, configured: report.peers.count)
                }
            }
        }
        if json {
            try Output.json(
                Document(
                    lab: status.lab, plugin: status.plugin, store: status.store,
                    nodes: status.nodes.map {
                        .init(index: $0.index, name: $0.name, agent: $0.agent.rawValue, subnet: $0.subnet, bgpSessions: sessions[$0.index])
                    },
                    pods: status.pods, ipFamily: status.ipFamily.rawValue))
        } else {
            let family = status.ipFamily == .ipv4 ? "" : ", IP family \(status.ipFamily)"
            print("lab \(status.lab): plugin \(status.plugin), store \(status.store), \(status.pods) pods\(family)")
            for node in status.nodes {
                let bgp = sessions[node.index].map { " bgp \($0.established)/\($0.configured) sessions" } ?? ""
                print("  node \(node.index) \(node.name) \(node.underlayAddress) subnet \(node.subnet ?? "-") agent \(node.agent.rawValue)\(bgp)")
            }
        }
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the agent log of node I.")
    @OptionGroup var options: LabOptions
    @Argument var index: Int

    func run() async throws {
        let lab = try options.open()
        _ = try await lab.nodes().first { $0.index == index } ?? { throw LabError(.notFound, "no node \(index)") }()
        let path = lab.agentLogPath(index)
        if let data = FileManager.default.contents(atPath: path) { FileHandle.standardOutput.write(data) }
    }
}
