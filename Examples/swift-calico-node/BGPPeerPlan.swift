import Datastore
import NetPrimitives
import Policy

/// The BGP peers of one node, as Calico derives them from its resources (pure; the agent
/// applies the result to its speaker):
///
/// - the node-to-node mesh, unless the BGPConfiguration `default` sets
///   `nodeToNodeMeshEnabled: false`: every other node;
/// - each BGPPeer that applies to this node (`node` names it, or `nodeSelector` matches its
///   labels, or neither is set): the outside peer `peerIP`/`asNumber`, or every other node
///   `peerSelector` matches. A node that `peerSelector` matches also peers with every node the
///   BGPPeer applies to (so one BGPPeer describes both ends of a route reflector's sessions);
/// - a node with a route reflector cluster ID treats an iBGP peer node without one as its
///   route reflector client; nodes of the same or different clusters peer as plain iBGP.
///
/// One session per address: a BGPPeer's overrides the mesh's, the first BGPPeer (in key
/// order) wins over later ones. Between two nodes the one with the higher address is passive.
struct BGPPeerPlan: Hashable, Sendable {
    struct Node: Hashable, Sendable {
        var name: String
        var address: IPAddress
        var asNumber: UInt32?
        var port: Int?
        var labels: [String: String] = [:]
        var routeReflectorClusterID: IPv4Address?
    }

    /// How a peer was chosen, in `status`'s words.
    enum Kind: String, Hashable, Sendable, Codable {
        case nodeMesh = "node-mesh"
        /// A BGPPeer with `node` or `nodeSelector`.
        case nodeSpecific = "node-specific"
        /// A BGPPeer for every node.
        case global
    }

    struct Peer: Hashable, Sendable {
        var address: IPAddress
        var port: Int
        var asNumber: UInt32
        var password: String?
        /// The peer is this node's route reflector client.
        var routeReflectorClient: Bool
        var passive: Bool
        var kind: Kind
        /// The peer node's name when the peer is a node of the cluster.
        var node: String?
        /// The BGPPeer that chose it (nil for the mesh).
        var resource: String?
    }

    var peers: [Peer]
    /// This node's route reflector cluster ID, if it is a route reflector.
    var clusterID: IPv4Address?
    var meshEnabled: Bool
    /// Resources that could not be used (a bad selector, address or missing AS), one line each.
    var problems: [String]

    /// Calico's default AS number and BGP port.
    static let defaultASNumber: UInt32 = 64512
    static let defaultPort = 179

    /// The peers of `name` among `nodes`. `meshDefault` applies when there is no
    /// BGPConfiguration or it leaves `nodeToNodeMeshEnabled` unset.
    init(
        for name: String, nodes: [Node], configuration: BGPConfigurationRecord?, bgpPeers: [BGPPeerRecord], meshDefault: Bool = true,
        defaultPort: Int = BGPPeerPlan.defaultPort
    ) {
        let defaultAS = configuration?.asNumber ?? Self.defaultASNumber
        let mesh = configuration?.nodeToNodeMeshEnabled ?? meshDefault
        self.meshEnabled = mesh
        var problems: [String] = []
        guard let local = nodes.first(where: { $0.name == name }) else {
            self.peers = []
            self.clusterID = nil
            self.problems = ["node \(name) is not registered"]
            return
        }
        self.clusterID = local.routeReflectorClusterID
        let others = nodes.filter { $0.name != name && $0.address != local.address }
        let localAS = local.asNumber ?? defaultAS

        func nodePeer(_ node: Node, kind: Kind, password: String?, resource: String?) -> Peer {
            let asNumber = node.asNumber ?? defaultAS
            let client = asNumber == localAS && local.routeReflectorClusterID != nil && node.routeReflectorClusterID == nil
            return Peer(
                address: node.address, port: node.port ?? defaultPort, asNumber: asNumber, password: password, routeReflectorClient: client,
                passive: node.address < local.address, kind: kind, node: node.name, resource: resource)
        }

        var chosen: [IPAddress: Peer] = [:]
        var order: [IPAddress] = []
        func add(_ peer: Peer) {
            guard chosen[peer.address] == nil else { return }
            chosen[peer.address] = peer
            order.append(peer.address)
        }
        for record in bgpPeers {
            let label = "BGPPeer \(record.name)"
            let nodeSelector: CalicoSelector
            let peerSelector: CalicoSelector?
            do {
                nodeSelector = try CalicoSelector(parsing: record.nodeSelector ?? "")
                peerSelector = try record.peerSelector.map { try CalicoSelector(parsing: $0) }
            } catch {
                problems.append("\(label): \(error)")
                continue
            }
            if record.node != nil, record.nodeSelector != nil {
                problems.append("\(label): node and nodeSelector are exclusive")
                continue
            }
            func applies(to node: Node) -> Bool {
                if let only = record.node { return only == node.name }
                return nodeSelector.matches(node.labels)
            }
            let kind: Kind = record.node == nil && record.nodeSelector == nil ? .global : .nodeSpecific
            var password = record.password?.value
            if password == nil, let reference = record.password?.secretKeyRef {
                problems.append("\(label): password secretKeyRef \(reference.name)/\(reference.key) needs a Secret store: peering without a password")
                password = nil
            }
            if let peerSelector {
                if record.peerIP != nil || record.asNumber != nil {
                    problems.append("\(label): peerSelector excludes peerIP and asNumber")
                    continue
                }
                let forward = applies(to: local) ? others.filter { peerSelector.matches($0.labels) } : []
                let reverse = peerSelector.matches(local.labels) ? others.filter(applies) : []
                for node in forward + reverse { add(nodePeer(node, kind: kind, password: password, resource: record.name)) }
                continue
            }
            guard applies(to: local) else { continue }
            guard let text = record.peerIP, let parsed = Self.parsePeerIP(text) else {
                problems.append("\(label): peerIP \(record.peerIP.map { "'\($0)' is not an address" } ?? "is missing")")
                continue
            }
            let (address, port) = parsed
            guard let asNumber = record.asNumber else {
                problems.append("\(label): asNumber is missing")
                continue
            }
            guard address != local.address else { continue }
            if var peer = others.first(where: { $0.address == address }).map({ nodePeer($0, kind: kind, password: password, resource: record.name) }) {
                peer.asNumber = asNumber
                peer.port = port ?? peer.port
                peer.routeReflectorClient = peer.routeReflectorClient && asNumber == localAS
                add(peer)
            } else {
                add(Peer(
                    address: address, port: port ?? defaultPort, asNumber: asNumber, password: password, routeReflectorClient: false,
                    passive: false, kind: kind, node: nil, resource: record.name))
            }
        }
        if mesh {
            for node in others { add(nodePeer(node, kind: .nodeMesh, password: nil, resource: nil)) }
        }
        self.peers = order.compactMap { chosen[$0] }.sorted { $0.address < $1.address }
        self.problems = problems
    }

    /// Calico's `peerIP`: `1.2.3.4`, `fd00::1`, `1.2.3.4:1179` or `[fd00::1]:1179`.
    static func parsePeerIP(_ text: String) -> (IPAddress, Int?)? {
        if let address = IPAddress(text) { return (address, nil) }
        var host = Substring(text)
        guard let colon = host.lastIndex(of: ":"), let port = Int(host[host.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        host = host[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard let address = IPAddress(String(host)) else { return nil }
        return (address, port)
    }

    /// The planner's view of a node record; nil (with the reason) when it has no usable address.
    static func node(_ record: NodeRecord) -> (node: Node?, problem: String?) {
        guard let text = record.addresses.first, let address = IPAddress(text) else {
            return (nil, "node \(record.name) has no address")
        }
        var node = Node(name: record.name, address: address, asNumber: record.asNumber, port: record.bgpPort, labels: record.labels ?? [:])
        if let cluster = record.routeReflectorClusterID {
            guard let parsed = IPv4Address(cluster) else {
                return (node, "node \(record.name): routeReflectorClusterID '\(cluster)' is not an IPv4 address; not a route reflector")
            }
            node.routeReflectorClusterID = parsed
        }
        return (node, nil)
    }
}
