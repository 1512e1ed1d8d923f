// JSON shapes of decisions, for tools such as an `explain` command (`JSONEncoder` with
// sorted keys gives stable output). Encodable only: decisions are outputs.

extension TransportProtocol: Encodable {
    /// Encodes as the name (`"TCP"`, `"SCTP"`) or the number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension PolicyDirection: Encodable {}
extension PolicyReference.Kind: Encodable {}

extension EndpointID: Encodable {
    /// Encodes as `"namespace/name"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension PacketPeer: Encodable {
    /// Encodes as `"namespace/name"` or the address.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension ResolvedPeer: Encodable {
    private enum CodingKeys: String, CodingKey { case address, endpoint }

    /// `{"address": "10.0.0.1", "endpoint": "namespace/name"}` (no endpoint for other addresses).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(address.description, forKey: .address)
        try container.encodeIfPresent(endpoint?.id, forKey: .endpoint)
    }
}

extension DecisionReason: Encodable {
    private enum CodingKeys: String, CodingKey { case kind, rule, tier, policies, node, text }

    /// `{"kind": "allowedByRule", "rule": {...}, "text": "allowed by ..."}` and similar.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .notIsolated:
            try container.encode("notIsolated", forKey: .kind)
        case let .allowedByRule(rule):
            try container.encode("allowedByRule", forKey: .kind)
            try container.encode(rule, forKey: .rule)
        case let .deniedByRule(rule):
            try container.encode("deniedByRule", forKey: .kind)
            try container.encode(rule, forKey: .rule)
        case let .noRuleMatched(tier, policies):
            try container.encode("noRuleMatched", forKey: .kind)
            try container.encode(tier, forKey: .tier)
            try container.encode(policies, forKey: .policies)
        case let .passedToProfile(rule):
            try container.encode("passedToProfile", forKey: .kind)
            try container.encode(rule, forKey: .rule)
        case let .fromOwnNode(node):
            try container.encode("fromOwnNode", forKey: .kind)
            try container.encode(node, forKey: .node)
        }
        try container.encode(description, forKey: .text)
    }
}
