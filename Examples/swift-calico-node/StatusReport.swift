import BGP
import Foundation
import NetPrimitives

/// What `swift-calico-node status` prints: each peer's state and its received / accepted
/// (installed) / advertised prefix counts, the node's blocks, borrowed addresses and installed routes.
struct StatusReport: Codable, Sendable {
    struct Peer: Codable, Sendable {
        var address: String
        var asNumber: UInt32
        /// `node-mesh`, `node-specific` (a BGPPeer for chosen nodes), `global` (a BGPPeer for
        /// every node, or the configuration file's `peers`); `node` names a peer node.
        var type: String
        var node: String?
        /// The peer is this node's route reflector client.
        var routeReflectorClient: Bool?
        var state: String
        var received: Int
        var accepted: Int
        var advertised: Int
        var stale: Int
    }

    var node: String
    var address: String
    /// The node's IPv6 address (Calico's `ipv6Address`), when it has one.
    var ipv6Address: String?
    var asNumber: UInt32
    /// Set when this node is a route reflector.
    var routeReflectorClusterID: String?
    /// Peers whose session is Established.
    var establishedSessions: Int?
    var peers: [Peer]
    var blocks: [String]
    /// The addresses this node borrowed from other nodes' blocks, advertised as host routes.
    var borrowed: [String]?
    var installedRoutes: Int
    var failedRouteRequests: Int

    static func collect(agent: NodeAgent, speaker: BGPSpeaker, installer: RouteInstaller) async -> StatusReport {
        let snapshot = await agent.snapshot()
        let installed = installer.installedRoutes
        let best = await speaker.bestRoutes()
        var accepted: [IPAddress: Int] = [:]
        for route in best {
            if let peer = route.peer, installed[route.prefix.network] != nil { accepted[peer, default: 0] += 1 }
        }
        let statuses = await speaker.peerStatuses()
        let peers = statuses.map { status in
            let planned = snapshot.peers[status.address]
            return Peer(
                address: "\(status.address)", asNumber: status.asNumber, type: planned?.kind.rawValue ?? "global",
                node: planned?.node, routeReflectorClient: planned?.routeReflectorClient ?? false, state: status.state.rawValue,
                received: status.prefixesReceived, accepted: accepted[status.address] ?? 0, advertised: status.prefixesAdvertised,
                stale: status.stalePrefixes)
        }
        return StatusReport(
            node: agent.node, address: "\(agent.address)", ipv6Address: agent.addresses.ipv6.map { "\($0)" }, asNumber: agent.configuration.bgp.asNumber,
            routeReflectorClusterID: snapshot.clusterID.map { "\($0)" },
            establishedSessions: statuses.filter { $0.state == .established }.count, peers: peers,
            blocks: snapshot.blocks.map(\.description), borrowed: snapshot.borrowed.map(\.description), installedRoutes: installed.count,
            failedRouteRequests: installer.failedRequests)
    }

    /// `calicoctl node status`'s peer types.
    static func peerType(_ peer: Peer) -> String {
        switch peer.type {
        case "node-mesh": return "node-to-node mesh"
        case "node-specific": return peer.routeReflectorClient == true ? "node specific (rr client)" : "node specific"
        default: return peer.routeReflectorClient == true ? "global (rr client)" : "global"
        }
    }

    /// Calico's `calicoctl node status` layout.
    var table: String {
        var lines = ["Calico process is running (swift-calico-node \(node), \(address), AS \(asNumber))", "", "IPv4 BGP status"]
        let header = ["PEER ADDRESS", "PEER TYPE", "STATE", "RECEIVED", "ACCEPTED", "ADVERTISED"]
        let rows = peers.map {
            [$0.address, Self.peerType($0), $0.state, "\($0.received)", "\($0.accepted)", "\($0.advertised)"]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: " | ") + " |"
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        lines += [rule, line(header), rule] + rows.map(line) + [rule, ""]
        lines.append("Blocks: \(blocks.joined(separator: ", "))")
        if let borrowed, !borrowed.isEmpty { lines.append("Borrowed addresses: \(borrowed.joined(separator: ", "))") }
        lines.append("Installed routes (proto bgp): \(installedRoutes)")
        return lines.joined(separator: "\n") + "\n"
    }
}
