import ArgumentParser
import Datastore
import Lab

/// `cnilab bgp …`: Calico's BGP resources in a calico lab's store (before or after `up`; the
/// agents follow the store), and each node's sessions.
struct BGPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgp", abstract: "Calico's BGPConfiguration, BGPPeers, node labels and route reflectors (calico).",
        subcommands: [Configuration.self, Node.self, Peer.self, Status.self])

    struct Configuration: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "configuration", abstract: "Set the BGPConfiguration `default` (fields not given are kept).")
        @OptionGroup var options: LabOptions
        @Option(help: "true or false: whether every node peers with every other.") var nodeToNodeMeshEnabled: Bool?
        @Option(help: "The AS number of nodes that set none.") var asNumber: UInt32?

        func run() async throws {
            let record = try await options.open().setBGPConfiguration(nodeToNodeMeshEnabled: nodeToNodeMeshEnabled, asNumber: asNumber)
            try Output.json(record)
        }
    }

    struct Node: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "node", abstract: "Label a node, or make it a route reflector (Calico's Node spec.bgp.routeReflectorClusterID).")
        @OptionGroup var target: NodeTarget
        @Option(name: .customLong("label"), help: "KEY=VALUE to set, KEY- to remove (repeatable).") var labels: [String] = []
        @Option(help: "The route reflector cluster ID (an IPv4 address such as 244.0.0.1); \"\" makes the node a plain node again.")
        var routeReflectorClusterID: String?

        func run() async throws {
            let changes = try LabelOption.parse(labels, removals: true)
            let (lab, index) = try await target.open()
            let record = try await lab.setNodeBGP(index, labels: changes, routeReflectorClusterID: routeReflectorClusterID)
            try Output.json(record)
        }
    }

    struct Peer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "peer", abstract: "Add, remove or list BGPPeers.", subcommands: [Add.self, Remove.self, List.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a BGPPeer: --peer-ip and --as-number (an outside peer) or --peer-selector (other nodes), for --node, --node-selector or every node.")
            @OptionGroup var options: LabOptions
            @Argument(help: "The BGPPeer's name.") var name: String
            @Option(help: "The one node that peers (its name).") var node: String?
            @Option(help: "A Calico selector over node labels: the nodes that peer.") var nodeSelector: String?
            @Option(help: "The outside peer's address (ADDRESS or ADDRESS:PORT).") var peerIP: String?
            @Option(help: "The outside peer's AS number.") var asNumber: UInt32?
            @Option(help: "A Calico selector over node labels: the nodes to peer with.") var peerSelector: String?
            @Option(help: "The session's TCP MD5 password (kept in the store: the lab has no Secrets).") var password: String?

            func run() async throws {
                guard (peerIP != nil) != (peerSelector != nil) else { throw ValidationError("give --peer-ip or --peer-selector") }
                if peerIP != nil, asNumber == nil { throw ValidationError("--peer-ip needs --as-number") }
                let record = BGPPeerRecord(
                    name: name, node: node, nodeSelector: nodeSelector, peerIP: peerIP, asNumber: asNumber, peerSelector: peerSelector,
                    password: password.map { BGPPeerRecord.Password(value: $0) })
                try await options.open().putBGPPeer(record)
                try Output.json(record)
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Delete a BGPPeer.")
            @OptionGroup var options: LabOptions
            @Argument var name: String

            func run() async throws {
                try await options.open().deleteBGPPeer(name)
                print("BGPPeer \(name) removed")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print every BGPPeer (JSON, one a line).")
            @OptionGroup var options: LabOptions

            func run() async throws {
                for record in try await options.open().bgpPeers() { try Output.json(record) }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each node's BGP sessions: established count, peers and their types.")
        @OptionGroup var options: LabOptions
        @Flag var json = false

        func run() async throws {
            let lab = try options.open()
            var reports: [LabBGPSessions] = []
            for node in await lab.nodes() { reports.append(try await lab.bgpSessions(node.index)) }
            if json { return try Output.json(reports) }
            for report in reports {
                let role = report.routeReflectorClusterID.map { ", route reflector of cluster \($0)" } ?? ""
                print("\(report.node): \(report.established)/\(report.peers.count) sessions established\(role)")
                for peer in report.peers {
                    let client = peer.routeReflectorClient == true ? " (rr client)" : ""
                    print("  \(peer.address) \(peer.node ?? "-") \(peer.type)\(client) \(peer.state)")
                }
            }
        }
    }
}
