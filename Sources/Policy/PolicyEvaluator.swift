import NetPrimitives

/// Decides packets directly from the policy model, with the reasons: the reference semantics
/// (and the future `explain`) that the compiled program and the nftables rule set must agree with.
///
/// Semantics, per direction: an endpoint is isolated for ingress (egress) when a policy selecting
/// it governs ingress (egress). Tiers are evaluated in order; within a tier, policies in order and
/// rules in order: the first Allow or Deny decides, Log continues, Pass skips to the next tier.
/// A tier with applicable policies but no decision denies (Kubernetes' default deny; the union of
/// all allow rules). After a Pass with no later tier, the profile allows. Traffic from the
/// destination's own node is allowed; a reply is allowed when its connection is.
public struct PolicyEvaluator: Sendable {
    public let policies: PolicySet
    public let cluster: ClusterState
    private let index: PolicyIndex

    public init(policies: PolicySet, cluster: ClusterState) {
        self.policies = policies
        self.cluster = cluster
        index = PolicyIndex(policies)
    }

    /// Whether `packet` is allowed.
    public func isAllowed(_ packet: Packet) throws -> Bool { try explain(packet).isAllowed }

    /// The decision on `packet` and why. Throws when the packet names an unknown endpoint or
    /// mixes address families.
    public func explain(_ packet: Packet) throws -> Explanation {
        let connection = packet.isReply ? packet.reversed : packet
        let (source, destination) = try cluster.resolve(connection)
        var egress: DirectionDecision?
        var ingress: DirectionDecision?
        if let endpoint = source.endpoint {
            egress = decide(.egress, endpoint: endpoint, source: source, destination: destination, packet: connection)
        }
        if let endpoint = destination.endpoint {
            if source.endpoint == nil, let node = cluster.node(named: endpoint.node), node.addresses.contains(source.address) {
                ingress = DirectionDecision(direction: .ingress, endpoint: endpoint.id, isAllowed: true,
                                            reason: .fromOwnNode(node.name), logged: [])
            } else {
                ingress = decide(.ingress, endpoint: endpoint, source: source, destination: destination, packet: connection)
            }
        }
        let allowed = (egress?.isAllowed ?? true) && (ingress?.isAllowed ?? true)
        return Explanation(packet: packet, isAllowed: allowed, connection: connection, source: source,
                           destination: destination, egress: egress, ingress: ingress)
    }

    private func decide(
        _ direction: PolicyDirection, endpoint: Endpoint, source: ResolvedPeer, destination: ResolvedPeer, packet: Packet
    ) -> DirectionDecision {
        var logged: [RuleReference] = []
        var lastPass: RuleReference?
        func decision(_ allowed: Bool, _ reason: DecisionReason) -> DirectionDecision {
            DirectionDecision(direction: direction, endpoint: endpoint.id, isAllowed: allowed, reason: reason, logged: logged)
        }
        let applied = index.appliedTiers(for: endpoint, direction: direction)
        if applied.isEmpty { return decision(true, .notIsolated) }
        tierLoop: for tier in applied {
            for policy in tier.policies {
                let matches = matchingRules(policy, direction: direction, source: source, destination: destination, packet: packet)
                for (index, action) in matches {
                    let rule = RuleReference(policy: policy.reference, direction: direction, index: index)
                    switch action {
                    case .allow: return decision(true, .allowedByRule(rule))
                    case .deny: return decision(false, .deniedByRule(rule))
                    case .log: logged.append(rule)
                    case .pass:
                        lastPass = rule
                        continue tierLoop
                    }
                }
            }
            return decision(false, .noRuleMatched(tier: tier.name, policies: tier.policies.map(\.reference)))
        }
        // Only reachable through Pass in the last applicable tier.
        return decision(true, .passedToProfile(lastPass!))
    }

    /// The (index, action) of every rule of `policy` in `direction` that matches, in order.
    private func matchingRules(
        _ policy: OrderedPolicy, direction: PolicyDirection, source: ResolvedPeer, destination: ResolvedPeer, packet: Packet
    ) -> [(Int, RuleAction)] {
        switch policy.body {
        case let .kubernetes(networkPolicy):
            let peer = direction == .ingress ? source : destination
            return networkPolicy.rules(direction).enumerated().compactMap { index, rule in
                Self.matches(rule, of: networkPolicy, peer: peer, portOwner: destination.endpoint, packet: packet)
                    ? (index, .allow) : nil
            }
        case let .calico(calicoPolicy):
            return calicoPolicy.rules(direction).enumerated().compactMap { index, rule in
                Self.matches(rule, scope: calicoPolicy.scope, source: source, destination: destination, packet: packet)
                    ? (index, rule.action) : nil
            }
        }
    }

    static func matches(
        _ rule: NetworkPolicyRule, of policy: NetworkPolicy, peer: ResolvedPeer, portOwner: Endpoint?, packet: Packet
    ) -> Bool {
        let portMatches = rule.ports.isEmpty || rule.ports.contains { spec in
            guard spec.protocol == packet.protocol else { return false }
            guard let reference = spec.port else { return true }
            guard let port = packet.destinationPort else { return false }
            switch reference {
            case .number: return spec.numericRange?.contains(port) ?? false
            case let .named(name): return portOwner?.port(named: name, protocol: spec.protocol) == port
            }
        }
        guard portMatches else { return false }
        return rule.peers.isEmpty || rule.peers.contains { candidate in
            switch candidate {
            case let .ipBlock(block): return block.contains(peer.address)
            case let .pods(podSelector, namespaceSelector):
                guard let endpoint = peer.endpoint else { return false }
                let namespaceMatches = namespaceSelector?.matches(endpoint.effectiveNamespaceLabels)
                    ?? (endpoint.namespace == policy.namespace)
                return namespaceMatches && (podSelector?.matches(endpoint.labels) ?? true)
            }
        }
    }

    static func matches(
        _ rule: CalicoRule, scope: CalicoPolicy.Scope, source: ResolvedPeer, destination: ResolvedPeer, packet: Packet
    ) -> Bool {
        if let transport = rule.protocol, transport != packet.protocol { return false }
        if let family = rule.ipVersion, family != source.address.family { return false }
        return matches(rule.source, scope: scope, peer: source, port: packet.sourcePort, transport: packet.protocol)
            && matches(rule.destination, scope: scope, peer: destination, port: packet.destinationPort, transport: packet.protocol)
    }

    static func matches(
        _ entity: CalicoEntityRule, scope: CalicoPolicy.Scope, peer: ResolvedPeer, port: UInt16?, transport: TransportProtocol
    ) -> Bool {
        if entity.selectsEndpoints {
            guard let endpoint = peer.endpoint else { return false }
            if let selector = entity.selector, !selector.matches(endpoint.calicoLabels) { return false }
            if let namespaceSelector = entity.namespaceSelector {
                if !namespaceSelector.matches(endpoint.effectiveNamespaceLabels) { return false }
            } else if case let .namespaced(namespace) = scope, endpoint.namespace != namespace {
                return false
            }
        }
        if !entity.nets.isEmpty, !entity.nets.contains(where: { $0.contains(peer.address) }) { return false }
        if entity.notNets.contains(where: { $0.contains(peer.address) }) { return false }
        if !entity.ports.isEmpty {
            guard let port else { return false }
            return entity.ports.contains { candidate in
                switch candidate {
                case let .range(range): return range.contains(port)
                case let .named(name): return peer.endpoint?.port(named: name, protocol: transport) == port
                }
            }
        }
        return true
    }
}
