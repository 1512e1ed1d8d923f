import NetPrimitives

/// A Kubernetes `networking.k8s.io/v1` NetworkPolicy.
///
/// ``policyTypes`` holds the effective types: when the document omits `policyTypes`, the
/// decoder applies Kubernetes' default (always `Ingress`, plus `Egress` when the policy has at
/// least one egress rule).
public struct NetworkPolicy: Hashable, Sendable {
    public var name: String
    public var namespace: String
    /// Selects the pods (in ``namespace``) the policy applies to; empty selects all of them.
    public var podSelector: LabelSelector
    public var policyTypes: Set<PolicyDirection>
    /// Allow rules for traffic to selected pods. Empty with `Ingress` in ``policyTypes``: deny all.
    public var ingress: [NetworkPolicyRule]
    /// Allow rules for traffic from selected pods.
    public var egress: [NetworkPolicyRule]

    public init(
        name: String, namespace: String = "default", podSelector: LabelSelector = .everything,
        policyTypes: Set<PolicyDirection>? = nil, ingress: [NetworkPolicyRule] = [],
        egress: [NetworkPolicyRule] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.podSelector = podSelector
        self.policyTypes = policyTypes ?? NetworkPolicy.defaultTypes(egressRuleCount: egress.count)
        self.ingress = ingress
        self.egress = egress
    }

    /// Kubernetes' defaulting of an absent `policyTypes`.
    public static func defaultTypes(egressRuleCount: Int) -> Set<PolicyDirection> {
        egressRuleCount > 0 ? [.ingress, .egress] : [.ingress]
    }

    /// The rules of one direction.
    public func rules(_ direction: PolicyDirection) -> [NetworkPolicyRule] {
        direction == .ingress ? ingress : egress
    }
}

/// One ingress (`from`) or egress (`to`) rule: traffic matches when it matches any peer
/// (or `peers` is empty) AND any port (or `ports` is empty).
public struct NetworkPolicyRule: Hashable, Sendable {
    public var peers: [NetworkPolicyPeer]
    public var ports: [NetworkPolicyPort]

    public init(peers: [NetworkPolicyPeer] = [], ports: [NetworkPolicyPort] = []) {
        self.peers = peers
        self.ports = ports
    }
}

/// A `from`/`to` entry.
public enum NetworkPolicyPeer: Hashable, Sendable {
    /// Pods by selector. `namespaceSelector == nil` means the policy's own namespace;
    /// `podSelector == nil` means every pod of the selected namespaces. At least one is set.
    case pods(podSelector: LabelSelector?, namespaceSelector: LabelSelector?)
    /// Addresses in `cidr` except those in `except`.
    case ipBlock(IPBlock)
}

/// An `ipBlock` peer.
public struct IPBlock: Hashable, Sendable {
    public var cidr: IPNetwork
    public var except: [IPNetwork]

    public init(cidr: IPNetwork, except: [IPNetwork] = []) {
        self.cidr = cidr.network
        self.except = except.map(\.network)
    }

    public func contains(_ address: IPAddress) -> Bool {
        cidr.contains(address) && !except.contains { $0.contains(address) }
    }
}

/// A port reference: a number or a named container port.
public enum PortReference: Hashable, Sendable, CustomStringConvertible {
    case number(UInt16)
    case named(String)

    public var description: String {
        switch self {
        case let .number(port): "\(port)"
        case let .named(name): name
        }
    }
}

/// A `ports` entry: protocol (default TCP), optional port (absent: all ports of the protocol),
/// optional `endPort` making `port...endPort` a range (numeric `port` only).
public struct NetworkPolicyPort: Hashable, Sendable {
    public var `protocol`: TransportProtocol
    public var port: PortReference?
    public var endPort: UInt16?

    public init(protocol: TransportProtocol = .tcp, port: PortReference? = nil, endPort: UInt16? = nil) {
        self.protocol = `protocol`
        self.port = port
        self.endPort = endPort
    }

    /// The numeric range this entry covers, when ``port`` is a number.
    public var numericRange: PortRange? {
        guard case let .number(port) = port else { return nil }
        return PortRange(port, endPort ?? port)
    }
}
