import NetPrimitives

/// The decision of a ``ProgramInterpreter`` on one packet.
public struct ProgramDecision: Hashable, Sendable {
    public var isAllowed: Bool
    /// The source endpoint's egress decision, when the source is an endpoint of the program.
    public var egress: DirectionDecision?
    /// The destination endpoint's ingress decision, when the destination is one.
    public var ingress: DirectionDecision?
}

/// Runs a ``PolicyProgram`` on packets the way the nftables lowering described in
/// <doc:IntermediateForm> does: the executable specification of that lowering, and the oracle a
/// back end's rule set can be checked against. It works on addresses only (as the kernel does).
public struct ProgramInterpreter: Sendable {
    public let program: PolicyProgram
    private let addressSets: [String: AddressSet]
    private let namedPortSets: [String: Set<NamedPortElement>]
    private let policies: [String: CompiledPolicy]
    private let endpointsByAddress: [IPAddress: CompiledEndpoint]

    public init(program: PolicyProgram) {
        self.program = program
        addressSets = Dictionary(uniqueKeysWithValues: program.addressSets.map { ($0.name, $0) })
        namedPortSets = Dictionary(uniqueKeysWithValues: program.namedPortSets.map { ($0.name, Set($0.elements)) })
        policies = Dictionary(uniqueKeysWithValues: program.policies.map { ($0.chainName, $0) })
        var byAddress: [IPAddress: CompiledEndpoint] = [:]
        for endpoint in program.endpoints {
            for address in endpoint.addresses { byAddress[address] = endpoint }
        }
        endpointsByAddress = byAddress
    }

    /// Decides a packet of a new connection from `source` to `destination` (same family).
    public func decide(
        source: IPAddress, destination: IPAddress, protocol transport: TransportProtocol,
        sourcePort: UInt16? = nil, destinationPort: UInt16? = nil
    ) -> ProgramDecision {
        let packet = Header(source: source, destination: destination, protocol: transport,
                            sourcePort: sourcePort, destinationPort: destinationPort)
        let egress = endpointsByAddress[source].map { run(.egress, endpoint: $0, packet: packet) }
        var ingress: DirectionDecision?
        if let endpoint = endpointsByAddress[destination] {
            if endpoint.nodeAddresses.contains(source) {
                ingress = DirectionDecision(direction: .ingress, endpoint: endpoint.id, isAllowed: true,
                                            reason: .fromOwnNode(endpoint.node), logged: [])
            } else {
                ingress = run(.ingress, endpoint: endpoint, packet: packet)
            }
        }
        return ProgramDecision(isAllowed: (egress?.isAllowed ?? true) && (ingress?.isAllowed ?? true),
                               egress: egress, ingress: ingress)
    }

    private struct Header {
        var source: IPAddress
        var destination: IPAddress
        var `protocol`: TransportProtocol
        var sourcePort: UInt16?
        var destinationPort: UInt16?
    }

    private func run(_ direction: PolicyDirection, endpoint: CompiledEndpoint, packet: Header) -> DirectionDecision {
        var logged: [RuleReference] = []
        var lastPass: RuleReference?
        func decision(_ allowed: Bool, _ reason: DecisionReason) -> DirectionDecision {
            DirectionDecision(direction: direction, endpoint: endpoint.id, isAllowed: allowed, reason: reason, logged: logged)
        }
        let tiers = endpoint.tiers(direction)
        if tiers.isEmpty { return decision(true, .notIsolated) }
        tierLoop: for tier in tiers {
            for chain in tier.policies {
                guard let policy = policies[chain] else { continue }
                var loggedInPolicy: Set<RuleReference> = []
                for rule in policy.rules(direction) where matches(rule, packet) {
                    switch rule.action {
                    case .allow: return decision(true, .allowedByRule(rule.rule))
                    case .deny: return decision(false, .deniedByRule(rule.rule))
                    case .log:
                        // One source rule may compile to several rules; it logs once.
                        if loggedInPolicy.insert(rule.rule).inserted { logged.append(rule.rule) }
                    case .pass:
                        lastPass = rule.rule
                        continue tierLoop
                    }
                }
            }
            return decision(false, .noRuleMatched(tier: tier.name, policies: tier.policies.compactMap { policies[$0]?.policy }))
        }
        return decision(true, .passedToProfile(lastPass!))
    }

    private func matches(_ rule: CompiledRule, _ packet: Header) -> Bool {
        if let family = rule.family, family != packet.source.family { return false }
        if let transport = rule.protocol, transport != packet.protocol { return false }
        if let condition = rule.source, !holds(condition, packet.source) { return false }
        if let condition = rule.destination, !holds(condition, packet.destination) { return false }
        if !rule.sourcePorts.isEmpty {
            guard let port = packet.sourcePort, rule.sourcePorts.contains(where: { $0.contains(port) }) else { return false }
        }
        if !rule.destinationPorts.isEmpty {
            guard let port = packet.destinationPort, rule.destinationPorts.contains(where: { $0.contains(port) }) else { return false }
        }
        if let name = rule.sourceNamedPorts {
            guard let port = packet.sourcePort,
                  namedPortSets[name]?.contains(NamedPortElement(address: packet.source, protocol: packet.protocol, port: port)) == true
            else { return false }
        }
        if let name = rule.destinationNamedPorts {
            guard let port = packet.destinationPort,
                  namedPortSets[name]?.contains(NamedPortElement(address: packet.destination, protocol: packet.protocol, port: port)) == true
            else { return false }
        }
        return true
    }

    private func holds(_ condition: AddressMatch, _ address: IPAddress) -> Bool {
        switch condition {
        case let .inSet(name): addressSets[name]?.contains(address) ?? false
        case let .notInSet(name): !(addressSets[name]?.contains(address) ?? false)
        }
    }
}
