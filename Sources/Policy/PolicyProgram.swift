import NetPrimitives

/// The compiler-ready form of a policy set over a cluster state: what an nftables back end
/// lowers one-to-one into chains, named sets and verdict maps of table `inet swiftcni_policy`.
///
/// See <doc:IntermediateForm> for the structure and the intended lowering.
public struct PolicyProgram: Hashable, Sendable {
    /// The nftables table the program is meant for (family `inet`).
    public static let tableName = "swiftcni_policy"

    /// Address sets, sorted by name. One nftables set each (`ipv4_addr` or `ipv6_addr`,
    /// `flags interval`).
    public var addressSets: [AddressSet]
    /// Named-port sets, sorted by name. One nftables set each
    /// (`ipv4_addr . inet_proto . inet_service` or the IPv6 equivalent).
    public var namedPortSets: [NamedPortSet]
    /// Every policy in global evaluation order, with its compiled rules. Two chains each
    /// (ingress and egress), shared by all endpoints the policy selects.
    public var policies: [CompiledPolicy]
    /// The endpoints the program enforces (all, or those of one node), sorted by identity.
    public var endpoints: [CompiledEndpoint]

    public init(addressSets: [AddressSet], namedPortSets: [NamedPortSet], policies: [CompiledPolicy], endpoints: [CompiledEndpoint]) {
        self.addressSets = addressSets
        self.namedPortSets = namedPortSets
        self.policies = policies
        self.endpoints = endpoints
    }

    public func addressSet(named name: String) -> AddressSet? { addressSets.first { $0.name == name } }
    public func namedPortSet(named name: String) -> NamedPortSet? { namedPortSets.first { $0.name == name } }
    public func policy(named chainName: String) -> CompiledPolicy? { policies.first { $0.chainName == chainName } }
}

/// A named set of addresses. Its name depends only on what it selects (the selector, the
/// namespace scope, the networks), never on its members: a pod or label change changes
/// ``elements`` only.
public struct AddressSet: Hashable, Sendable {
    public var name: String
    public var family: IPAddress.Family
    /// Sorted; single addresses for selector sets, merged intervals for network sets.
    public var elements: [AddressRange]
    /// What the set stands for, for comments and humans.
    public var origin: String
    /// True for a selector set (its members are endpoint addresses, one each, changing with
    /// pods and labels); false for a network set (ipBlock, nets), which holds intervals.
    public var holdsEndpointAddresses = false

    public func contains(_ address: IPAddress) -> Bool { elements.contains { $0.contains(address) } }
}

/// One element of a named-port set: an endpoint address with the protocol and port number a
/// port name resolves to on that endpoint.
public struct NamedPortElement: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var `protocol`: TransportProtocol
    public var port: UInt16

    public init(address: IPAddress, protocol: TransportProtocol, port: UInt16) {
        self.address = address
        self.protocol = `protocol`
        self.port = port
    }

    public var description: String { "\(address) . \(`protocol`.description.lowercased()) . \(port)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.address, lhs.protocol, lhs.port) < (rhs.address, rhs.protocol, rhs.port)
    }
}

/// A named set of (address, protocol, port) triples: how named ports (resolved per pod) are
/// matched without per-pod rules.
public struct NamedPortSet: Hashable, Sendable {
    public var name: String
    public var family: IPAddress.Family
    public var elements: [NamedPortElement]
    public var origin: String

    public func contains(_ element: NamedPortElement) -> Bool { elements.contains(element) }
}

/// An address condition of a rule, on the source (`saddr`) or destination (`daddr`).
public enum AddressMatch: Hashable, Sendable, CustomStringConvertible {
    /// The address is in the named ``AddressSet``.
    case inSet(String)
    /// The address is not in the named ``AddressSet``.
    case notInSet(String)

    public var description: String {
        switch self {
        case let .inSet(name): "@\(name)"
        case let .notInSet(name): "!= @\(name)"
        }
    }
}

/// One compiled rule: every present condition must hold; then ``action`` applies.
/// One compiled rule becomes one nftables rule.
public struct CompiledRule: Hashable, Sendable, CustomStringConvertible {
    /// The source rule (several compiled rules may come from one source rule).
    public var rule: RuleReference
    /// `ip` / `ip6` only; `nil`: both families.
    public var family: IPAddress.Family?
    /// `meta l4proto`; `nil`: any protocol.
    public var `protocol`: TransportProtocol?
    public var source: AddressMatch?
    public var destination: AddressMatch?
    /// Source port in one of these ranges; empty: any.
    public var sourcePorts: [PortRange]
    /// Destination port in one of these ranges; empty: any.
    public var destinationPorts: [PortRange]
    /// `(saddr . l4proto . sport)` in this ``NamedPortSet``.
    public var sourceNamedPorts: String?
    /// `(daddr . l4proto . dport)` in this ``NamedPortSet``.
    public var destinationNamedPorts: String?
    public var action: RuleAction

    /// nftables-like text of the rule (for humans; the back end owns the real rendering).
    public var description: String {
        var parts: [String] = []
        let prefix = family == .v6 ? "ip6" : "ip"
        if let `protocol` { parts.append("meta l4proto \(`protocol`.description.lowercased())") }
        if let source { parts.append("\(prefix) saddr \(source)") }
        if let destination { parts.append("\(prefix) daddr \(destination)") }
        func ports(_ ranges: [PortRange]) -> String {
            ranges.count == 1 ? ranges[0].description : "{ \(ranges.map(\.description).joined(separator: ", ")) }"
        }
        let portKeyword = `protocol`.map { $0.description.lowercased() } ?? "th"
        if !sourcePorts.isEmpty { parts.append("\(portKeyword) sport \(ports(sourcePorts))") }
        if !destinationPorts.isEmpty { parts.append("\(portKeyword) dport \(ports(destinationPorts))") }
        if let sourceNamedPorts { parts.append("\(prefix) saddr . meta l4proto . th sport @\(sourceNamedPorts)") }
        if let destinationNamedPorts { parts.append("\(prefix) daddr . meta l4proto . th dport @\(destinationNamedPorts)") }
        parts.append(action.rawValue.lowercased())
        return parts.joined(separator: " ") + " # \(rule)"
    }
}

/// A policy's compiled rules per direction, in rule order.
public struct CompiledPolicy: Hashable, Sendable {
    public var policy: PolicyReference
    /// Stable chain base name; the chains are `<chainName>-i` and `<chainName>-e`.
    public var chainName: String
    public var tier: String
    public var order: Double
    public var ingress: [CompiledRule]
    public var egress: [CompiledRule]

    public func rules(_ direction: PolicyDirection) -> [CompiledRule] { direction == .ingress ? ingress : egress }
    public func chainName(_ direction: PolicyDirection) -> String { "\(chainName)-\(direction == .ingress ? "i" : "e")" }
}

/// The policies (by ``CompiledPolicy/chainName``) of one tier that select an endpoint in one
/// direction, in evaluation order. Reaching the end of a tier without a verdict denies.
public struct CompiledTier: Hashable, Sendable {
    public var name: String
    public var policies: [String]
}

/// What one endpoint runs per direction, and how packets are steered to it.
public struct CompiledEndpoint: Hashable, Sendable {
    public var id: EndpointID
    public var interfaceName: InterfaceName?
    public var addresses: [IPAddress]
    public var node: String
    /// Addresses of the endpoint's own node: accepted on ingress before any policy.
    public var nodeAddresses: [IPAddress]
    /// Empty: not isolated for ingress (accept).
    public var ingress: [CompiledTier]
    /// Empty: not isolated for egress (accept).
    public var egress: [CompiledTier]
    /// Stable chain base name; the chains are `<chainName>-i` and `<chainName>-e`.
    public var chainName: String

    public func tiers(_ direction: PolicyDirection) -> [CompiledTier] { direction == .ingress ? ingress : egress }
    public func chainName(_ direction: PolicyDirection) -> String { "\(chainName)-\(direction == .ingress ? "i" : "e")" }
}
