import NetPrimitives

/// A pod's identity: namespace and name.
public struct EndpointID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// `"namespace/name"`.
    public var description: String { "\(namespace)/\(name)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name) }
}

/// A named container port (`containerPort` with a `name`).
public struct NamedPort: Hashable, Sendable {
    public var name: String
    public var port: UInt16
    public var `protocol`: TransportProtocol

    public init(name: String, port: UInt16, protocol: TransportProtocol = .tcp) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
    }
}

/// A pod as policy sees it: identity, addresses, host-side interface, labels, its namespace's
/// labels, named ports and the node it runs on.
public struct Endpoint: Hashable, Sendable {
    public let id: EndpointID
    public var addresses: [IPAddress]
    /// The host side of the pod's interface (`cali…`, `veth…`), the key of the compiled dispatch.
    public var interfaceName: InterfaceName?
    public var labels: [String: String] { didSet { calicoLabels = Self.calicoLabels(labels, namespace: namespace) } }
    public var namespaceLabels: [String: String] {
        didSet { effectiveNamespaceLabels = Self.effectiveNamespaceLabels(namespaceLabels, namespace: namespace) }
    }
    public var namedPorts: [NamedPort]
    /// Namespace labels as the API server shows them: Kubernetes adds
    /// `kubernetes.io/metadata.name`, Calico `projectcalico.org/name`. (Kept up to date with
    /// ``namespaceLabels``; stored because every selector evaluation reads it.)
    public private(set) var effectiveNamespaceLabels: [String: String]
    /// Labels as Calico selectors see them: the pod's plus `projectcalico.org/namespace` and
    /// `projectcalico.org/orchestrator`. (Kept up to date with ``labels``.)
    public private(set) var calicoLabels: [String: String]
    public var node: String

    public init(
        namespace: String, name: String, addresses: [IPAddress], interfaceName: InterfaceName? = nil,
        labels: [String: String] = [:], namespaceLabels: [String: String] = [:],
        namedPorts: [NamedPort] = [], node: String = ""
    ) {
        id = EndpointID(namespace: namespace, name: name)
        self.addresses = addresses
        self.interfaceName = interfaceName
        self.labels = labels
        self.namespaceLabels = namespaceLabels
        self.namedPorts = namedPorts
        self.node = node
        effectiveNamespaceLabels = Self.effectiveNamespaceLabels(namespaceLabels, namespace: namespace)
        calicoLabels = Self.calicoLabels(labels, namespace: namespace)
    }

    public var namespace: String { id.namespace }
    public var name: String { id.name }

    static func effectiveNamespaceLabels(_ labels: [String: String], namespace: String) -> [String: String] {
        var result = labels
        if result["kubernetes.io/metadata.name"] == nil { result["kubernetes.io/metadata.name"] = namespace }
        if result["projectcalico.org/name"] == nil { result["projectcalico.org/name"] = namespace }
        return result
    }

    static func calicoLabels(_ labels: [String: String], namespace: String) -> [String: String] {
        var result = labels
        if result["projectcalico.org/namespace"] == nil { result["projectcalico.org/namespace"] = namespace }
        if result["projectcalico.org/orchestrator"] == nil { result["projectcalico.org/orchestrator"] = "k8s" }
        return result
    }

    /// The port number a named port resolves to on this endpoint for `protocol`, if any.
    public func port(named name: String, protocol transport: TransportProtocol) -> UInt16? {
        namedPorts.first { $0.name == name && $0.protocol == transport }?.port
    }

    /// The endpoint's first address of `family`.
    public func address(family: IPAddress.Family) -> IPAddress? { addresses.first { $0.family == family } }
}

/// A node: its name and addresses. Traffic from a node's addresses to its own pods is
/// always allowed (kubelet probes), as Kubernetes requires.
public struct ClusterNode: Hashable, Sendable {
    public var name: String
    public var addresses: [IPAddress]

    public init(name: String, addresses: [IPAddress]) {
        self.name = name
        self.addresses = addresses
    }
}

/// The endpoints and nodes policy is evaluated over.
public struct ClusterState: Hashable, Sendable {
    public private(set) var endpoints: [Endpoint]
    public private(set) var nodes: [ClusterNode]
    private var endpointIndex: [EndpointID: Int]
    private var addressIndex: [IPAddress: Int]

    /// Throws a `duplicate` ``PolicyError`` when two endpoints share an identity or an address.
    public init(endpoints: [Endpoint] = [], nodes: [ClusterNode] = []) throws {
        self.endpoints = []
        self.nodes = nodes
        endpointIndex = [:]
        addressIndex = [:]
        for endpoint in endpoints { try insert(endpoint) }
    }

    /// Adds an endpoint, or replaces the one with the same identity.
    public mutating func insert(_ endpoint: Endpoint) throws {
        let existing = endpointIndex[endpoint.id]
        for address in endpoint.addresses {
            if let owner = addressIndex[address], owner != existing {
                throw PolicyError(.duplicate, "address \(address) of \(endpoint.id) already belongs to \(endpoints[owner].id)")
            }
        }
        if let existing {
            // Replace in place: positions of other endpoints stay valid.
            for address in endpoints[existing].addresses { addressIndex[address] = nil }
            endpoints[existing] = endpoint
            for address in endpoint.addresses { addressIndex[address] = existing }
            return
        }
        let position = endpoints.count
        endpoints.append(endpoint)
        endpointIndex[endpoint.id] = position
        for address in endpoint.addresses { addressIndex[address] = position }
    }

    public mutating func remove(_ id: EndpointID) {
        guard endpointIndex[id] != nil else { return }
        let remaining = endpoints.filter { $0.id != id }
        endpoints = []
        endpointIndex = [:]
        addressIndex = [:]
        for endpoint in remaining {
            endpointIndex[endpoint.id] = endpoints.count
            for address in endpoint.addresses { addressIndex[address] = endpoints.count }
            endpoints.append(endpoint)
        }
    }

    public subscript(id: EndpointID) -> Endpoint? { endpointIndex[id].map { endpoints[$0] } }

    /// The endpoint owning `address`, if any.
    public func endpoint(owning address: IPAddress) -> Endpoint? { addressIndex[address].map { endpoints[$0] } }

    public func node(named name: String) -> ClusterNode? { nodes.first { $0.name == name } }
}
