/// Why one direction (the source's egress or the destination's ingress) allows or denies.
public enum DecisionReason: Hashable, Sendable, CustomStringConvertible {
    /// No policy selects the endpoint for this direction: everything is allowed.
    case notIsolated
    /// A rule with action Allow (every Kubernetes rule) matched.
    case allowedByRule(RuleReference)
    /// A Calico rule with action Deny matched.
    case deniedByRule(RuleReference)
    /// Policies of `tier` select the endpoint but none of their rules matched: default deny.
    case noRuleMatched(tier: String, policies: [PolicyReference])
    /// A Pass rule skipped the rest of its tier and no later tier applies: the profile allows.
    case passedToProfile(RuleReference)
    /// The packet comes from the node that hosts the destination endpoint (kubelet probes).
    case fromOwnNode(String)

    public var description: String {
        switch self {
        case .notIsolated: "no policy selects the endpoint for this direction"
        case let .allowedByRule(rule): "allowed by \(rule)"
        case let .deniedByRule(rule): "denied by \(rule)"
        case let .noRuleMatched(tier, policies):
            "no rule matched in tier \(tier) of \(policies.map(\.description).joined(separator: ", "))"
        case let .passedToProfile(rule): "passed by \(rule); no later tier applies, the profile allows"
        case let .fromOwnNode(node): "traffic from the endpoint's own node \(node) is always allowed"
        }
    }
}

/// The decision of one direction.
public struct DirectionDecision: Hashable, Sendable, Encodable, CustomStringConvertible {
    public var direction: PolicyDirection
    public var endpoint: EndpointID
    public var isAllowed: Bool
    public var reason: DecisionReason
    /// Log rules that matched on the way, in order.
    public var logged: [RuleReference]

    public var description: String {
        var text = "\(direction.rawValue.lowercased()) of \(endpoint): \(isAllowed ? "allowed" : "denied"), \(reason)"
        if !logged.isEmpty { text += " (logged by \(logged.map(\.description).joined(separator: ", ")))" }
        return text
    }
}

/// The decision on a packet with its reasons: allowed when the source's egress (if the source
/// is a known endpoint) and the destination's ingress (if the destination is one) both allow.
public struct Explanation: Hashable, Sendable, Encodable, CustomStringConvertible {
    public var packet: Packet
    public var isAllowed: Bool
    /// The connection the decision is about: the packet itself, or for a reply the original
    /// connection in the opposite direction.
    public var connection: Packet
    public var source: ResolvedPeer
    public var destination: ResolvedPeer
    /// The source endpoint's egress decision; `nil` when the source is not an endpoint.
    public var egress: DirectionDecision?
    /// The destination endpoint's ingress decision; `nil` when the destination is not one.
    public var ingress: DirectionDecision?

    /// The rule that decided, when one did (a deny wins over an allow of the other direction).
    public var decidingRule: RuleReference? {
        for decision in [egress, ingress].compactMap({ $0 }) where !decision.isAllowed {
            if case let .deniedByRule(rule) = decision.reason { return rule }
            return nil
        }
        for decision in [ingress, egress].compactMap({ $0 }) {
            if case let .allowedByRule(rule) = decision.reason { return rule }
        }
        return nil
    }

    public var description: String {
        var lines = ["\(packet): \(isAllowed ? "ALLOWED" : "DENIED")"]
        if packet.isReply { lines.append("  reply of \(connection), judged as that connection") }
        if let egress { lines.append("  \(egress)") } else { lines.append("  egress: source \(source) is not an endpoint") }
        if let ingress { lines.append("  \(ingress)") } else { lines.append("  ingress: destination \(destination) is not an endpoint") }
        return lines.joined(separator: "\n")
    }
}
