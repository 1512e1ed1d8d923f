import NetPrimitives

extension PolicyCompiler {
    /// The address condition of a Calico entity for one family.
    struct EntityCondition {
        /// `false` when the entity can never match this family (its nets are all of the other).
        var possible: Bool
        var condition: AddressMatch?
    }

    enum EntityPorts {
        case any
        case ranges([PortRange])
        case named([String])
    }

    mutating func compileCalico(_ rule: CalicoRule, scope: CalicoPolicy.Scope, reference: RuleReference) -> [CompiledRule] {
        let familySpecific = [rule.source, rule.destination].contains { entity in
            entity.selectsEndpoints || !entity.nets.isEmpty || !entity.notNets.isEmpty
                || entity.ports.contains { if case .named = $0 { return true } else { return false } }
        }
        let families: [IPAddress.Family?] = rule.ipVersion.map { [$0] } ?? (familySpecific ? [.v4, .v6] : [nil])
        var compiled: [CompiledRule] = []
        for family in families {
            var source = EntityCondition(possible: true, condition: nil)
            var destination = EntityCondition(possible: true, condition: nil)
            if let family {
                source = entityCondition(rule.source, scope: scope, family: family)
                destination = entityCondition(rule.destination, scope: scope, family: family)
            }
            guard source.possible, destination.possible else { continue }
            for sourcePorts in Self.entityPorts(rule.source) {
                for destinationPorts in Self.entityPorts(rule.destination) {
                    var compiledRule = CompiledRule(
                        rule: reference, family: family, protocol: rule.protocol, source: source.condition,
                        destination: destination.condition, sourcePorts: [], destinationPorts: [], sourceNamedPorts: nil,
                        destinationNamedPorts: nil, action: rule.action)
                    switch sourcePorts {
                    case .any: break
                    case let .ranges(ranges): compiledRule.sourcePorts = ranges
                    case let .named(names):
                        compiledRule.sourceNamedPorts = calicoNamedPortSet(rule.source, scope: scope, names: names,
                                                                          protocol: rule.protocol!, family: family!)
                    }
                    switch destinationPorts {
                    case .any: break
                    case let .ranges(ranges): compiledRule.destinationPorts = ranges
                    case let .named(names):
                        compiledRule.destinationNamedPorts = calicoNamedPortSet(rule.destination, scope: scope, names: names,
                                                                               protocol: rule.protocol!, family: family!)
                    }
                    compiled.append(compiledRule)
                }
            }
        }
        return compiled
    }

    static func entityPorts(_ entity: CalicoEntityRule) -> [EntityPorts] {
        if entity.ports.isEmpty { return [.any] }
        var ranges: [PortRange] = []
        var names: [String] = []
        for port in entity.ports {
            switch port {
            case let .range(range): ranges.append(range)
            case let .named(name): names.append(name)
            }
        }
        var result: [EntityPorts] = []
        if !ranges.isEmpty { result.append(.ranges(Array(Set(ranges)).sorted())) }
        if !names.isEmpty { result.append(.named(Array(Set(names)).sorted())) }
        return result
    }

    /// Whether the endpoint part (selector, namespace selector, scope) of `entity` admits `endpoint`.
    static func admits(_ entity: CalicoEntityRule, scope: CalicoPolicy.Scope, _ endpoint: Endpoint) -> Bool {
        if let selector = entity.selector, !selector.matches(endpoint.calicoLabels) { return false }
        if let namespaceSelector = entity.namespaceSelector {
            return namespaceSelector.matches(endpoint.effectiveNamespaceLabels)
        }
        if case let .namespaced(namespace) = scope { return endpoint.namespace == namespace }
        return true
    }

    /// Whether `address` passes the nets/notNets of `entity`.
    static func admits(_ entity: CalicoEntityRule, address: IPAddress) -> Bool {
        (entity.nets.isEmpty || entity.nets.contains { $0.contains(address) })
            && !entity.notNets.contains { $0.contains(address) }
    }

    static func entityKey(_ entity: CalicoEntityRule, scope: CalicoPolicy.Scope) -> String {
        var parts: [String] = []
        if entity.selectsEndpoints {
            parts.append("selector \(entity.selector?.description ?? "all()")")
            if let namespaceSelector = entity.namespaceSelector {
                parts.append("namespaces \(namespaceSelector)")
            } else if case let .namespaced(namespace) = scope {
                parts.append("namespace \(namespace)")
            }
        }
        if !entity.nets.isEmpty { parts.append("nets \(entity.nets.map(\.description).sorted().joined(separator: ","))") }
        if !entity.notNets.isEmpty { parts.append("notNets \(entity.notNets.map(\.description).sorted().joined(separator: ","))") }
        return parts.isEmpty ? "any" : parts.joined(separator: " ")
    }

    mutating func entityCondition(_ entity: CalicoEntityRule, scope: CalicoPolicy.Scope, family: IPAddress.Family) -> EntityCondition {
        let key = Self.entityKey(entity, scope: scope)
        if entity.selectsEndpoints {
            let cluster = cluster
            let admits: @Sendable (Endpoint, IPAddress) -> Bool = { endpoint, address in
                Self.admits(entity, scope: scope, endpoint) && Self.admits(entity, address: address)
            }
            let name = registry.addressSet(
                key: key, family: family, origin: key, membership: SetMembership(family: family, admits: admits)
            ) {
                Self.members(of: cluster, family: family, admits)
            }
            return EntityCondition(possible: true, condition: .inSet(name))
        }
        if !entity.nets.isEmpty {
            guard entity.nets.contains(where: { $0.family == family }) else { return EntityCondition(possible: false) }
            let name = registry.addressSet(key: key, family: family, origin: key) {
                AddressRange.ranges(of: entity.nets, excluding: entity.notNets, family: family)
            }
            return EntityCondition(possible: true, condition: .inSet(name))
        }
        if entity.notNets.contains(where: { $0.family == family }) {
            let setKey = "nets \(entity.notNets.map(\.description).sorted().joined(separator: ","))"
            let name = registry.addressSet(key: setKey, family: family, origin: setKey) {
                AddressRange.ranges(of: entity.notNets, excluding: [], family: family)
            }
            return EntityCondition(possible: true, condition: .notInSet(name))
        }
        return EntityCondition(possible: true, condition: nil)
    }

    mutating func calicoNamedPortSet(
        _ entity: CalicoEntityRule, scope: CalicoPolicy.Scope, names: [String], protocol transport: TransportProtocol,
        family: IPAddress.Family
    ) -> String {
        let owners: @Sendable (Endpoint, IPAddress) -> Bool = { endpoint, address in
            (!entity.selectsEndpoints || Self.admits(entity, scope: scope, endpoint)) && Self.admits(entity, address: address)
        }
        return namedPortSet(owners: owners, ownerKey: Self.entityKey(entity, scope: scope), names: names,
                            protocol: transport, family: family)
    }
}

extension PolicyCompiler.EntityCondition {
    init(possible: Bool) {
        self.possible = possible
        condition = nil
    }
}
