/// The pod record at `/swiftcni/pods/<namespace>/<name>` (Documentation/Datastore.md): written by
/// the plugins at ADD (swift-calico, swift-canal: with `hostInterface`) and by the lab (with
/// `labels` and `ports`); read by the policy agent and the lab.
///
/// ```json
/// {"addresses":["10.244.1.2"],"containerID":"x-a-1f2e3d4c","hostInterface":"cali0123456789a",
///  "labels":{"app":"web"},"name":"a","namespace":"x","node":"node-0",
///  "ports":[{"name":"serve-80-tcp","port":80,"protocol":"TCP"}]}
/// ```
///
/// Fields this type does not model are kept in ``unknownFields`` and written back, so a
/// component never drops what another one wrote.
public struct PodRecord: Hashable, Sendable, Codable, FieldCodedRecord {
    public var namespace: String
    public var name: String
    /// The node the pod runs on.
    public var node: String?
    /// The container (sandbox) the record belongs to: a newer sandbox of the same pod replaces it.
    public var containerID: String?
    /// The pod's interface name (`eth0`).
    public var interface: String?
    /// The pod's addresses, without prefix length.
    public var addresses: [String]
    /// The node end of the pod's veth (`cali…`); absent in the lab's records.
    public var hostInterface: String?
    public var labels: [String: String]?
    /// The pod's named container ports, what a policy's named port resolves to.
    public var ports: [PortRecord]?
    /// Fields written by others, kept as read.
    public var unknownFields: [String: JSONValue]

    public init(
        namespace: String, name: String, node: String? = nil, containerID: String? = nil, interface: String? = nil,
        addresses: [String], hostInterface: String? = nil, labels: [String: String]? = nil, ports: [PortRecord]? = nil,
        unknownFields: [String: JSONValue] = [:]
    ) {
        self.namespace = namespace
        self.name = name
        self.node = node
        self.containerID = containerID
        self.interface = interface
        self.addresses = addresses
        self.hostInterface = hostInterface
        self.labels = labels
        self.ports = ports
        self.unknownFields = unknownFields
    }

    /// `/swiftcni/pods/<namespace>/<name>`.
    public var key: String { KeyLayout.pod(namespace: namespace, name: name) }

    /// The key components of a pod a CNI runtime names in its arguments (`K8S_POD_NAMESPACE`,
    /// `K8S_POD_NAME`): without (or with an empty) namespace it is `_`, without a name the
    /// container ID. One record per attachment: a second interface of the same pod (Multus'
    /// `net1`) is `<name>:<interface>` (`:` is in no Kubernetes name), so neither attachment's
    /// ADD overwrites nor its DEL removes the other's record; the main interface (`eth0`, or
    /// none given) keeps the plain name.
    public static func identity(
        podNamespace: String?, podName: String?, containerID: String, interface: String? = nil
    ) -> (namespace: String, name: String) {
        let name = podName.flatMap { $0.isEmpty ? nil : $0 } ?? containerID
        let attachment = interface.flatMap { $0.isEmpty || $0 == mainInterface ? nil : $0 }
        return (podNamespace.flatMap { $0.isEmpty ? nil : $0 } ?? "_", attachment.map { name + ":" + $0 } ?? name)
    }

    /// The pod's main interface, whose record keeps the pod's plain name.
    public static let mainInterface = "eth0"

    /// The record stored at `key`; a value that does not decode is a `.malformedRecord` naming it.
    public init(decoding value: [UInt8], key: String) throws(DatastoreError) {
        self = try RecordCoding.decode(PodRecord.self, from: value, key: key)
    }

    /// The JSON written to the store (sorted keys).
    public func encoded() throws(DatastoreError) -> [UInt8] { try RecordCoding.encode(self, key: key) }

    /// This record written over `existing`: fields set here win, the others (and unknown
    /// fields) keep `existing`'s values.
    public func merged(over existing: PodRecord) -> PodRecord {
        var result = self
        result.node = node ?? existing.node
        result.containerID = containerID ?? existing.containerID
        result.interface = interface ?? existing.interface
        result.hostInterface = hostInterface ?? existing.hostInterface
        result.labels = labels ?? existing.labels
        result.ports = ports ?? existing.ports
        result.unknownFields = existing.unknownFields.merging(unknownFields) { $1 }
        return result
    }

    static var fields: [RecordField<Self>] {
        [
            .required("namespace", \.namespace), .required("name", \.name), .optional("node", \.node),
            .optional("containerID", \.containerID), .optional("interface", \.interface),
            .required("addresses", \.addresses, absent: []), .optional("hostInterface", \.hostInterface),
            .optional("labels", \.labels), .optional("ports", \.ports),
        ]
    }

    public init(from decoder: any Decoder) throws {
        self.init(namespace: "", name: "", addresses: [])
        try decodeFields(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}

/// A named container port of a pod record: `{"name":"http","port":80,"protocol":"TCP"}`
/// (`protocol` `TCP` when absent, as in a pod spec).
public struct PortRecord: Hashable, Sendable, Codable {
    public var name: String
    public var port: UInt16
    public var `protocol`: String?

    public init(name: String, port: UInt16, protocol: String? = nil) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
    }

    /// The protocol, `TCP` when absent.
    public var effectiveProtocol: String { `protocol` ?? "TCP" }
}

/// The node record at `/swiftcni/nodes/<node>` (Documentation/Datastore.md), written by the
/// agents: the node's addresses (which may always reach its own pods), its pod CIDRs and, for
/// a BGP mesh, its AS number and port. Unknown fields are kept, as in ``PodRecord``.
public struct NodeRecord: Hashable, Sendable, Codable, FieldCodedRecord {
    public var name: String
    public var addresses: [String]
    public var podCIDRs: [String]?
    /// The node's BGP AS number (swift-calico-node).
    public var asNumber: UInt32?
    /// The node's BGP listen port (swift-calico-node).
    public var bgpPort: Int?
    /// The node's labels (Calico's Node `metadata.labels`), matched by BGPPeer selectors.
    public var labels: [String: String]?
    /// Calico's Node `spec.bgp.routeReflectorClusterID`: set, the node is a route reflector of
    /// that cluster (an IPv4 address in dotted form).
    public var routeReflectorClusterID: String?
    /// The address of the node's VXLAN tunnel endpoint (`vxlan.calico`), from one of its IPAM
    /// blocks (Calico's `ipv4VXLANTunnelAddr`; swift-calico-node with a pool's `vxlanMode`).
    public var ipv4VXLANTunnelAddr: String?
    /// The MAC of the node's VXLAN tunnel endpoint (Calico's `vxlanTunnelMACAddr`).
    public var vxlanTunnelMACAddr: String?
    /// The node's IPv6 address with its prefix length (Calico's `ipv6Address`,
    /// `fd00:100::11/64`; swift-calico-node with `IP6`). It is also in ``addresses`` (after
    /// the IPv4 address of a dual-stack node).
    public var ipv6Address: String?
    public var unknownFields: [String: JSONValue]

    public init(
        name: String, addresses: [String], podCIDRs: [String]? = nil, asNumber: UInt32? = nil, bgpPort: Int? = nil,
        labels: [String: String]? = nil, routeReflectorClusterID: String? = nil, unknownFields: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.addresses = addresses
        self.podCIDRs = podCIDRs
        self.asNumber = asNumber
        self.bgpPort = bgpPort
        self.labels = labels
        self.routeReflectorClusterID = routeReflectorClusterID
        self.unknownFields = unknownFields
    }

    /// `/swiftcni/nodes/<name>`.
    public var key: String { KeyLayout.node(name) }

    /// The record stored at `key` (a record without `name` takes the key's last component);
    /// a value that does not decode is a `.malformedRecord` naming the key.
    public init(decoding value: [UInt8], key: String) throws(DatastoreError) {
        self = try RecordCoding.decode(NodeRecord.self, from: value, key: key)
        if name.isEmpty, key.hasPrefix(KeyLayout.nodes) { name = String(key.dropFirst(KeyLayout.nodes.count)) }
    }

    public func encoded() throws(DatastoreError) -> [UInt8] { try RecordCoding.encode(self, key: key) }

    static var fields: [RecordField<Self>] {
        [
            .required("name", \.name, absent: ""), .required("addresses", \.addresses, absent: []),
            .optional("podCIDRs", \.podCIDRs), .optional("asNumber", \.asNumber), .optional("bgpPort", \.bgpPort),
            .optional("labels", \.labels), .optional("routeReflectorClusterID", \.routeReflectorClusterID),
            .optional("ipv4VXLANTunnelAddr", \.ipv4VXLANTunnelAddr), .optional("vxlanTunnelMACAddr", \.vxlanTunnelMACAddr),
            .optional("ipv6Address", \.ipv6Address),
        ]
    }

    public init(from decoder: any Decoder) throws {
        self.init(name: "", addresses: [])
        try decodeFields(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws { try encodeFields(to: encoder) }
}
