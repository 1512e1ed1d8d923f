import Kubernetes
import NetPrimitives

/// Another node of the BGP mesh as its Node object describes it.
struct MeshNode: Hashable, Sendable {
    var name: String
    var address: IPv4Address
    /// The node's own AS (`projectcalico.org/ASNumber`), nil: the cluster's.
    var asNumber: UInt32?
}

/// Calico's node annotations in the Kubernetes datastore (libcalico-go's node conversion):
/// `projectcalico.org/IPv4Address` holds the node's BGP address as a CIDR
/// (`192.168.50.11/24`), `projectcalico.org/ASNumber` its AS when the node has its own.
/// calico-node writes them with an update of `nodes/NAME/status`, and sets the
/// NetworkUnavailable condition False with reason `CalicoIsUp` once it runs.
enum CalicoNodeAnnotations {
    static let ipv4Address = "projectcalico.org/IPv4Address"
    static let asNumber = "projectcalico.org/ASNumber"

    /// The node's annotations with this agent's values; nil when they are already there.
    static func updated(_ node: Node, address: IPNetwork, asNumber: UInt32?) -> Node? {
        var annotations = node.annotations
        annotations[ipv4Address] = address.description
        if let asNumber { annotations[Self.asNumber] = String(asNumber) }
        guard annotations != node.annotations else { return nil }
        var node = node
        node.annotations = annotations
        return node
    }

    /// A mesh peer from a Node: it needs an IPv4 address annotation (a CIDR or a bare address).
    static func meshNode(from node: Node) -> MeshNode? {
        guard let text = node.annotations[ipv4Address] else { return nil }
        let host = text.split(separator: "/", maxSplits: 1).first.map(String.init) ?? text
        guard let address = IPv4Address(host) else { return nil }
        let asNumber = node.annotations[Self.asNumber].flatMap { UInt32($0) }
        return MeshNode(name: node.name, address: address, asNumber: asNumber)
    }

    /// Calico's condition, as a strategic-merge patch of `nodes/NAME/status`.
    static func networkAvailablePatch(time: String) -> JSONValue {
        let condition: JSONObject = [
            "type": "NetworkUnavailable", "status": "False", "lastHeartbeatTime": .string(time),
            "lastTransitionTime": .string(time), "reason": "CalicoIsUp", "message": "Calico is running on this node",
        ]
        return ["status": ["conditions": [.object(condition)]]]
    }
}
