import NetPrimitives

/// A Calico `projectcalico.org/v3` NetworkPolicy (namespaced) or GlobalNetworkPolicy.
public struct CalicoPolicy: Hashable, Sendable {
    public enum Scope: Hashable, Sendable {
        /// A `NetworkPolicy`: selects endpoints of this namespace only; rule selectors without a
        /// `namespaceSelector` match endpoints of this namespace only.
        case namespaced(String)
        /// A `GlobalNetworkPolicy`: selects endpoints of every namespace.
        case global
    }

    public var name: String
    public var scope: Scope
    /// The tier (`spec.tier`, default `default`). Kubernetes policies live in `default`.
    public var tier: String
    /// Lower orders are evaluated first; `nil` is evaluated after every ordered policy.
    public var order: Double?
    public var selector: CalicoSelector
    /// GlobalNetworkPolicy only: restricts the selected endpoints to namespaces matching it.
    public var namespaceSelector: CalicoSelector?
    public var types: Set<PolicyDirection>
    public var ingress: [CalicoRule]
    public var egress: [CalicoRule]

    public init(
        name: String, scope: Scope, tier: String = CalicoTier.defaultName, order: Double? = nil,
        selector: CalicoSelector = .all, namespaceSelector: CalicoSelector? = nil,
        types: Set<PolicyDirection>? = nil, ingress: [CalicoRule] = [], egress: [CalicoRule] = []
    ) {
        self.name = name
        self.scope = scope
        self.tier = tier
        self.order = order
        self.selector = selector
        self.namespaceSelector = namespaceSelector
        self.types = types ?? CalicoPolicy.defaultTypes(ingressRuleCount: ingress.count, egressRuleCount: egress.count)
        self.ingress = ingress
        self.egress = egress
    }

    /// Calico's defaulting of absent `types`: the directions that have rules; `Ingress` if none.
    public static func defaultTypes(ingressRuleCount: Int, egressRuleCount: Int) -> Set<PolicyDirection> {
        var types: Set<PolicyDirection> = []
        if ingressRuleCount > 0 { types.insert(.ingress) }
        if egressRuleCount > 0 { types.insert(.egress) }
        return types.isEmpty ? [.ingress] : types
    }

    public func rules(_ direction: PolicyDirection) -> [CalicoRule] {
        direction == .ingress ? ingress : egress
    }
}

/// What a matching Calico rule does.
public enum RuleAction: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Accept; evaluation ends.
    case allow = "Allow"
    /// Drop; evaluation ends.
    case deny = "Deny"
    /// Record and continue with the next rule.
    case log = "Log"
    /// Skip the rest of the tier: continue with the next tier (in the end, the profile: allow).
    case pass = "Pass"

    public var description: String { rawValue }
}

/// A Calico rule: every given condition must hold.
public struct CalicoRule: Hashable, Sendable {
    public var action: RuleAction
    public var `protocol`: TransportProtocol?
    /// `ipVersion`: 4 or 6 restricts the rule to that family.
    public var ipVersion: IPAddress.Family?
    public var source: CalicoEntityRule
    public var destination: CalicoEntityRule

    public init(
        action: RuleAction, protocol: TransportProtocol? = nil, ipVersion: IPAddress.Family? = nil,
        source: CalicoEntityRule = .init(), destination: CalicoEntityRule = .init()
    ) {
        self.action = action
        self.protocol = `protocol`
        self.ipVersion = ipVersion
        self.source = source
        self.destination = destination
    }
}

/// The `source` or `destination` part of a Calico rule.
public struct CalicoEntityRule: Hashable, Sendable {
    /// Endpoints whose labels match (with the policy's namespace scope unless
    /// ``namespaceSelector`` is set).
    public var selector: CalicoSelector?
    /// Endpoints in namespaces whose labels match.
    public var namespaceSelector: CalicoSelector?
    /// The address is in one of these networks.
    public var nets: [IPNetwork]
    /// The address is in none of these networks.
    public var notNets: [IPNetwork]
    /// The port is one of these (requires the rule's protocol to be TCP, UDP, SCTP or UDPLite).
    public var ports: [CalicoPort]

    public init(
        selector: CalicoSelector? = nil, namespaceSelector: CalicoSelector? = nil,
        nets: [IPNetwork] = [], notNets: [IPNetwork] = [], ports: [CalicoPort] = []
    ) {
        self.selector = selector
        self.namespaceSelector = namespaceSelector
        self.nets = nets.map(\.network)
        self.notNets = notNets.map(\.network)
        self.ports = ports
    }

    /// Whether the entity restricts endpoints (not just addresses).
    public var selectsEndpoints: Bool { selector != nil || namespaceSelector != nil }
    public var isEmpty: Bool { !selectsEndpoints && nets.isEmpty && notNets.isEmpty && ports.isEmpty }
}

/// A Calico port entry: a number, a range (`"80:90"`), or a named port.
public enum CalicoPort: Hashable, Sendable, CustomStringConvertible {
    case range(PortRange)
    case named(String)

    public var description: String {
        switch self {
        case let .range(range): range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound):\(range.upperBound)"
        case let .named(name): name
        }
    }
}

/// A Calico `Tier` (`projectcalico.org/v3`): tiers are evaluated by ascending order; the
/// `default` tier (holding Kubernetes policies) comes after every other tier.
public struct CalicoTier: Hashable, Sendable {
    public static let defaultName = "default"
    public var name: String
    public var order: Double?

    public init(name: String, order: Double? = nil) {
        self.name = name
        self.order = order
    }
}
