import Datastore
import Foundation
import NetPrimitives
import Netlink

/// Calico's BGP resources in the lab's store (`cnilab bgp …`): the BGPConfiguration, BGPPeers,
/// and each node's labels and route reflector cluster ID on its node record. The calico agents
/// follow the store, so these apply before or after `cnilab up --plugin calico`.
extension Lab {
    /// Writes Calico's BGPConfiguration `default`, keeping fields not given (nil) and unknown ones.
    @discardableResult
    public func setBGPConfiguration(nodeToNodeMeshEnabled: Bool?, asNumber: UInt32?) async throws -> BGPConfigurationRecord {
        let key = KeyLayout.bgpConfiguration("default")
        var record = BGPConfigurationRecord()
        if let text = try await storeGet(key) {
            do { record = try BGPConfigurationRecord(decoding: Array(text.utf8), key: key) } catch {
                throw LabError(.state, "cannot read the BGPConfiguration", underlying: error)
            }
        }
        if let nodeToNodeMeshEnabled { record.nodeToNodeMeshEnabled = nodeToNodeMeshEnabled }
        if let asNumber { record.asNumber = asNumber }
        try await storePut(key, String(decoding: try record.encoded(), as: UTF8.self))
        return record
    }

    /// Writes (or replaces) a BGPPeer.
    public func putBGPPeer(_ record: BGPPeerRecord) async throws {
        guard !record.name.isEmpty, !record.name.contains("/") else {
            throw LabError(.invalidArgument, "a BGPPeer name is non-empty without '/', not '\(record.name)'")
        }
        try await storePut(record.key, String(decoding: try record.encoded(), as: UTF8.self))
    }

    /// Deletes a BGPPeer (absent is fine).
    public func deleteBGPPeer(_ name: String) async throws { try await storeDelete(KeyLayout.bgpPeer(name)) }

    /// Every BGPPeer; one that does not decode is an error naming its key.
    public func bgpPeers() async throws -> [BGPPeerRecord] {
        try await storeList(prefix: KeyLayout.bgpPeers).map { key, value in
            do { return try BGPPeerRecord(decoding: Array(value.utf8), key: key) } catch {
                throw LabError(.state, "cannot read a BGPPeer", underlying: error)
            }
        }
    }

    /// Sets labels (a nil value removes the label) and the route reflector cluster ID (`""`
    /// removes it; nil leaves it) on node I's record, as `kubectl label node` and `calicoctl
    /// patch node` do. Before the node's agent registered, the record holds only these; the
    /// agent keeps them when it registers.
    @discardableResult
    public func setNodeBGP(_ index: Int, labels: [String: String?], routeReflectorClusterID: String?) async throws -> NodeRecord {
        if let id = routeReflectorClusterID, !id.isEmpty, IPv4Address(id) == nil {
            throw LabError(.invalidArgument, "the route reflector cluster ID is an IPv4 address such as 244.0.0.1, not '\(id)'")
        }
        let name = try nodeName(index)
        let key = KeyLayout.node(name)
        var record = NodeRecord(name: name, addresses: [])
        if let text = try await storeGet(key) {
            do { record = try NodeRecord(decoding: Array(text.utf8), key: key) } catch {
                throw LabError(.state, "cannot read the node record of \(name)", underlying: error)
            }
        }
        var current = record.labels ?? [:]
        for (label, value) in labels { current[label] = value }
        record.labels = current.isEmpty ? nil : current
        if let routeReflectorClusterID {
            record.routeReflectorClusterID = routeReflectorClusterID.isEmpty ? nil : routeReflectorClusterID
        }
        try await storePut(key, String(decoding: try record.encoded(), as: UTF8.self))
        return record
    }

    func nodeName(_ index: Int) throws -> String {
        guard let node = recordedNodes().first(where: { $0.index == index }) else { throw LabError(.notFound, "no node \(index)") }
        return node.name
    }

    /// The value at `key`, or nil.
    func storeGet(_ key: String) async throws -> String? {
        try await storeList(prefix: key).first { $0.0 == key }?.1
    }
}

/// One calico node's BGP sessions, from its agent's `swift-calico-node status --json`.
public struct LabBGPSessions: Codable, Hashable, Sendable {
    public struct Peer: Codable, Hashable, Sendable {
        public var address: String
        /// `node-mesh`, `node-specific` or `global`.
        public var type: String
        public var node: String?
        public var state: String
        public var routeReflectorClient: Bool?
    }

    public var node: String
    public var routeReflectorClusterID: String?
    public var peers: [Peer]

    /// Peers whose session is Established.
    public var established: Int { peers.filter { $0.state == "Established" }.count }
}

extension Lab {
    /// Node I's BGP sessions (a calico lab): runs `swift-calico-node status --json` on the
    /// agent's status socket (`<node dir>/calico-node`).
    public func bgpSessions(_ index: Int) async throws -> LabBGPSessions {
        _ = try nodeName(index)
        let executable = try findExecutable("swift-calico-node")
        let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
        let output = try fabric.runProcess(
            executable, arguments: ["status", "--json", "--state-dir", nodeDirectory(index) + "/calico-node"],
            environment: ["PATH": "/usr/bin:/bin"], timeoutMilliseconds: 15_000)
        guard output.status.isSuccess else {
            throw LabError(.state, "swift-calico-node status of node \(index) failed: \(output.standardErrorText)")
        }
        do { return try JSONDecoder().decode(LabBGPSessions.self, from: Data(output.standardOutput)) } catch {
            throw LabError(.state, "swift-calico-node status of node \(index) answered no status", underlying: error)
        }
    }
}

extension Lab {
    /// Node I's routes learned over BGP (`proto bgp`, 186): destination → next hop.
    public func learnedRoutes(_ index: Int) throws -> [String: String] {
        guard let node = recordedNodes().first(where: { $0.index == index }) else { throw LabError(.notFound, "no node \(index)") }
        let handle: NetlinkHandle
        do { handle = try NetlinkHandle(namespace: try Self.openNamespace(node.networkNamespace)) } catch let error as LabError {
            throw error
        } catch {
            throw LabError(.state, "cannot open node \(index)'s netlink", underlying: error)
        }
        let routes: [Route]
        do { routes = try handle.routes(family: .v4, protocolTag: Route.ProtocolTag(rawValue: 186)) } catch {
            throw LabError(.state, "cannot read node \(index)'s routes", underlying: error)
        }
        var learned: [String: String] = [:]
        for route in routes { learned[route.destination.description] = route.nextHops.first?.gateway.map { "\($0)" } ?? "" }
        return learned
    }
}
