import AgentHTTP
import Foundation
import IPAM
import NetPrimitives

/// The agent's configuration file, in Calico's field names:
///
/// ```json
/// {"bgp":{"asNumber":64512,"nodeToNodeMeshEnabled":true,"listenPort":179,"routerID":"192.168.0.11",
///         "holdTime":90,"keepaliveTime":30,"gracefulRestartTime":120,"connectRetryTime":30},
///  "peers":[{"peerIP":"192.168.0.1","asNumber":65001,"password":"secret"}],
///  "ipPools":[{"cidr":"10.244.0.0/16","blockSize":26,"natOutgoing":true,"vxlanMode":"CrossSubnet"}]}
/// ```
///
/// `keepaliveTime` is informational (the speaker sends keepalives every third of the hold
/// time, as the RFC suggests); `connectRetryTime` is swift-cni's addition.
struct NodeConfiguration: Codable, Sendable {
    struct BGP: Codable, Sendable {
        var asNumber: UInt32 = 64512
        var nodeToNodeMeshEnabled: Bool?
        var listenPort: Int?
        var routerID: String?
        var holdTime: Int?
        var keepaliveTime: Int?
        var gracefulRestartTime: Int?
        var connectRetryTime: Int?
    }

    struct Peer: Codable, Sendable {
        var peerIP: String
        var asNumber: UInt32
        var password: String?
        var port: Int?
    }

    struct IPPool: Codable, Sendable {
        var cidr: IPNetwork
        var blockSize: Int?
        var natOutgoing: Bool?
        /// `Never` (default), `Always` or `CrossSubnet` (``CalicoVXLAN``); another value is an error.
        var vxlanMode: CalicoVXLAN.Mode?
    }

    var bgp: BGP
    var peers: [Peer]?
    var ipPools: [IPPool]?

    var meshEnabled: Bool { bgp.nodeToNodeMeshEnabled ?? true }
    var listenPort: Int { bgp.listenPort ?? 179 }
    var holdTime: Int { bgp.holdTime ?? 90 }
    var connectRetryTime: Int { bgp.connectRetryTime ?? 30 }
    var gracefulRestartTime: Int { bgp.gracefulRestartTime ?? 120 }

    static func load(path: String) throws -> NodeConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError(.invalidConfiguration, "cannot read the configuration file \(path)")
        }
        do { return try JSONDecoder().decode(NodeConfiguration.self, from: data) } catch {
            throw AgentError(.invalidConfiguration, "\(path): \(error)")
        }
    }
}
