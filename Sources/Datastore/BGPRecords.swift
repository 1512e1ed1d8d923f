/// Calico's BGPConfiguration (`projectcalico.org/v3`, its `spec`) at
/// `/swiftcni/bgp/configurations/<name>`: the record named `default` holds the cluster's
/// settings. Fields this library does not model (Calico's `serviceClusterIPs`, `communities`, …)
/// are kept, as in ``NodeRecord``.
///
/// ```json
/// {"name":"default","nodeToNodeMeshEnabled":false,"asNumber":64512}
/// ```
public struct BGPConfigurationRecord: Hashable, Sendable, Codable, FieldCodedRecord {
    public var name: String
    /// Whether every node peers with every other (Calico's default: true).
    public var nodeToNodeMeshEnabled: Bool?
    /// The AS number of nodes that do not set their own (Calico's default: 64512).
    public var asNumber: UInt32?
    /// The BGP port (Calico's default: 179).
    public var listenPort: Int?
    public var unknownFields: [String: JSONValue]

    public init(
        name: String = "default", nodeToNodeMeshEnabled: Bool? = nil, asNumber: UInt32? = nil, listenPort: Int? = nil,
        unknownFields: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.nodeToNodeMeshEnabled = nodeToNodeMeshEnabled
        self.asNumber = asNumber
        self.listenPort = listenPort
        self.unknownFields = unknownFields
    }

    /// Calico's defaults: mesh on.
    public var meshEnabled: Bool { nodeToNodeMeshEnabled ?? true }

    public var key: String { KeyLayout.bgpConfiguration(name) }

    /// The record stored at `key` (without `name`, the key's last component); a value that
    /// does not decode is a `.malformedRecord` naming the key.
    public init(decoding value: [UInt8], key: String) throws(DatastoreError) {
        self = try RecordCoding.decode(BGPConfigurationRecord.self, from: value, key: key)
        if name.isEmpty, key.hasPrefix(KeyLayout.bgpConfigurations) { name = String(key.dropFirst(KeyLayout.bgpConfigurations.count)) }
    }

    public func encoded() throws(DatastoreError) -> [UInt8] { try RecordCoding.encode(self, key: key) }

    static var fields: [RecordField<Self>] {
        [
            .required("name", \.name, absent: ""), .optional("nodeToNodeMeshEnabled", \.nodeToNodeMeshEnabled),
            .optional("asNumber", \.asNumber), .optional("listenPort", \.listenPort),
        ]
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        try decodeFields(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}

/// Calico's BGPPeer (`projectcalico.org/v3`, its `spec`) at `/swiftcni/bgp/peers/<name>`.
/// As in Calico: `node` or `nodeSelector` choose the nodes that peer (neither: every node);
/// `peerIP` and `asNumber` name one outside peer, or `peerSelector` chooses other nodes as
/// peers (then `peerIP` and `asNumber` stay empty). Unknown fields are kept.
///
/// ```json
/// {"name":"peer-with-route-reflectors","nodeSelector":"all()","peerSelector":"route-reflector == 'true'"}
/// {"name":"tor","peerIP":"192.168.0.1","asNumber":65001,"password":{"value":"secret"}}
/// ```
public struct BGPPeerRecord: Hashable, Sendable, Codable, FieldCodedRecord {
    /// Calico's `BGPPassword`: `secretKeyRef` names a Kubernetes Secret's key; swift-cni's store
    /// holds no Secrets, so it adds `value`, the password itself.
    public struct Password: Hashable, Sendable, Codable {
        public struct SecretKeyReference: Hashable, Sendable, Codable {
            public var name: String
            public var key: String

            public init(name: String, key: String) {
                self.name = name
                self.key = key
            }
        }

        public var secretKeyRef: SecretKeyReference?
        public var value: String?

        public init(secretKeyRef: SecretKeyReference? = nil, value: String? = nil) {
            self.secretKeyRef = secretKeyRef
            self.value = value
        }
    }

    public var name: String
    /// The one node that peers (Calico's `node`).
    public var node: String?
    /// A Calico selector over node labels choosing the nodes that peer.
    public var nodeSelector: String?
    /// The outside peer's address (`1.2.3.4` or `[1.2.3.4]:port`, as Calico).
    public var peerIP: String?
    public var asNumber: UInt32?
    /// A Calico selector over node labels choosing the nodes to peer with.
    public var peerSelector: String?
    public var password: Password?
    public var unknownFields: [String: JSONValue]

    public init(
        name: String, node: String? = nil, nodeSelector: String? = nil, peerIP: String? = nil, asNumber: UInt32? = nil,
        peerSelector: String? = nil, password: Password? = nil, unknownFields: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.node = node
        self.nodeSelector = nodeSelector
        self.peerIP = peerIP
        self.asNumber = asNumber
        self.peerSelector = peerSelector
        self.password = password
        self.unknownFields = unknownFields
    }

    public var key: String { KeyLayout.bgpPeer(name) }

    /// The record stored at `key` (without `name`, the key's last component); a value that
    /// does not decode is a `.malformedRecord` naming the key.
    public init(decoding value: [UInt8], key: String) throws(DatastoreError) {
        self = try RecordCoding.decode(BGPPeerRecord.self, from: value, key: key)
        if name.isEmpty, key.hasPrefix(KeyLayout.bgpPeers) { name = String(key.dropFirst(KeyLayout.bgpPeers.count)) }
    }

    public func encoded() throws(DatastoreError) -> [UInt8] { try RecordCoding.encode(self, key: key) }

    static var fields: [RecordField<Self>] {
        [
            .required("name", \.name, absent: ""), .optional("node", \.node), .optional("nodeSelector", \.nodeSelector),
            .optional("peerIP", \.peerIP), .optional("asNumber", \.asNumber), .optional("peerSelector", \.peerSelector),
            .optional("password", \.password),
        ]
    }

    public init(from decoder: any Decoder) throws {
        self.init(name: "")
        try decodeFields(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}

extension ClusterRegistry {
    /// The BGPConfiguration named `name` (Calico's cluster-wide one is `default`), or nil.
    public func bgpConfiguration(_ name: String = "default") async throws -> BGPConfigurationRecord? {
        let key = KeyLayout.bgpConfiguration(name)
        guard let item = try await store.get(key) else { return nil }
        return try BGPConfigurationRecord(decoding: item.value, key: key)
    }

    @discardableResult
    public func put(_ record: BGPConfigurationRecord) async throws -> Int64 {
        try await store.put(record.key, value: try record.encoded())
    }

    /// Every BGPPeer that decodes, in key order; each one that does not is handed to `malformed`.
    public func bgpPeers(reportingMalformed malformed: (DatastoreError) -> Void) async throws -> [BGPPeerRecord] {
        var records: [BGPPeerRecord] = []
        for item in try await store.list(prefix: KeyLayout.bgpPeers).items {
            do { records.append(try BGPPeerRecord(decoding: item.value, key: item.key)) } catch { malformed(error) }
        }
        return records
    }

    /// Every BGPPeer, in key order; a record that does not decode fails the read.
    public func bgpPeers() async throws -> [BGPPeerRecord] {
        try await store.list(prefix: KeyLayout.bgpPeers).items.map { item throws(DatastoreError) in
            try BGPPeerRecord(decoding: item.value, key: item.key)
        }
    }

    @discardableResult
    public func put(_ record: BGPPeerRecord) async throws -> Int64 {
        try await store.put(record.key, value: try record.encoded())
    }

    /// Deletes the BGPPeer `name`; returns whether it existed.
    @discardableResult
    public func deleteBGPPeer(_ name: String) async throws -> Bool {
        try await store.delete(KeyLayout.bgpPeer(name))
    }
}

extension ClusterRegistry {
    /// Writes an agent's own node record, keeping what others set on the stored one: its
    /// labels, route reflector cluster ID and unknown fields (as `calicoctl label` and
    /// `calicoctl patch node` leave them to calico-node). A stored record that does not decode
    /// is replaced.
    @discardableResult
    public func register(_ record: NodeRecord) async throws -> NodeRecord {
        var result = record
        if let item = try await store.get(record.key), let existing = try? NodeRecord(decoding: item.value, key: record.key) {
            result.labels = record.labels ?? existing.labels
            result.routeReflectorClusterID = record.routeReflectorClusterID ?? existing.routeReflectorClusterID
            result.unknownFields = existing.unknownFields.merging(record.unknownFields) { $1 }
        }
        try await put(result)
        return result
    }
}
