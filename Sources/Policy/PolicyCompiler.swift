import NetPrimitives

extension PolicyProgram {
    /// Compiles `policies` over `cluster` into the intermediate form. With `node`, only that
    /// node's endpoints get endpoint programs (sets still cover the whole cluster).
    public init(compiling policies: PolicySet, cluster: ClusterState, node: String? = nil) {
        self = PolicyCompiler.compile(policies, cluster: cluster, node: node).program
    }
}

/// Everything a compilation produces, including what incremental updates need.
struct CompilationResult: Sendable {
    let program: PolicyProgram
    let memberships: [String: SetMembership]
    let index: PolicyIndex
    let chainNames: [PolicyReference: String]
}

/// Lowers policies to ``CompiledRule``s, registering the sets they reference.
struct PolicyCompiler {
    let cluster: ClusterState
    var registry = SetRegistry()

    static func compile(_ policies: PolicySet, cluster: ClusterState, node: String?) -> CompilationResult {
        var compiler = PolicyCompiler(cluster: cluster)
        let index = PolicyIndex(policies)
        var compiledPolicies: [CompiledPolicy] = []
        for tier in index.tiers {
            for policy in tier.policies { compiledPolicies.append(compiler.compile(policy)) }
        }
        let chainNames = Dictionary(uniqueKeysWithValues: compiledPolicies.map { ($0.policy, $0.chainName) })
        let endpoints = cluster.endpoints.filter { node == nil || $0.node == node }.sorted { $0.id < $1.id }.map {
            compiledEndpoint($0, index: index, chainNames: chainNames, cluster: cluster)
        }
        let program = PolicyProgram(
            addressSets: compiler.registry.addressSets.values.sorted { $0.name < $1.name },
            namedPortSets: compiler.registry.namedPortSets.values.sorted { $0.name < $1.name },
            policies: compiledPolicies, endpoints: endpoints)
        return CompilationResult(program: program, memberships: compiler.registry.memberships, index: index, chainNames: chainNames)
    }

    static func compiledEndpoint(
        _ endpoint: Endpoint, index: PolicyIndex, chainNames: [PolicyReference: String], cluster: ClusterState
    ) -> CompiledEndpoint {
        func tiers(_ direction: PolicyDirection) -> [CompiledTier] {
            index.appliedTiers(for: endpoint, direction: direction).map { tier in
                CompiledTier(name: tier.name, policies: tier.policies.map { chainNames[$0.reference]! })
            }
        }
        return CompiledEndpoint(
            id: endpoint.id, interfaceName: endpoint.interfaceName, addresses: endpoint.addresses,
            node: endpoint.node, nodeAddresses: cluster.node(named: endpoint.node)?.addresses ?? [],
            ingress: tiers(.ingress), egress: tiers(.egress),
            chainName: "e" + stableIdentifier("endpoint|\(endpoint.id)"))
    }

    /// One way a rule's peer can match: a family-specific set, or anything.
    struct PeerAlternative {
        var family: IPAddress.Family?
        var condition: AddressMatch?
        var key: String
        var contains: @Sendable (Endpoint, IPAddress) -> Bool
    }

    /// One way a rule's ports can match.
    struct PortAlternative {
        var `protocol`: TransportProtocol?
        var ranges: [PortRange] = []
        var names: [String] = []
    }

    mutating func compile(_ policy: OrderedPolicy) -> CompiledPolicy {
        var ingress: [CompiledRule] = []
        var egress: [CompiledRule] = []
        switch policy.body {
        case let .kubernetes(networkPolicy):
            ingress = compileKubernetes(networkPolicy, reference: policy.reference, direction: .ingress)
            egress = compileKubernetes(networkPolicy, reference: policy.reference, direction: .egress)
        case let .calico(calicoPolicy):
            for direction in PolicyDirection.allCases {
                let rules = calicoPolicy.rules(direction).enumerated().flatMap { index, rule in
                    compileCalico(rule, scope: calicoPolicy.scope,
                                  reference: RuleReference(policy: policy.reference, direction: direction, index: index))
                }
                if direction == .ingress { ingress = rules } else { egress = rules }
            }
        }
        return CompiledPolicy(
            policy: policy.reference, chainName: "p" + stableIdentifier("policy|\(policy.reference.kind)|\(policy.reference)"),
            tier: policy.tier, order: policy.order, ingress: ingress, egress: egress)
    }

    // MARK: Kubernetes

    private mutating func compileKubernetes(
        _ policy: NetworkPolicy, reference: PolicyReference, direction: PolicyDirection
    ) -> [CompiledRule] {
        var compiled: [CompiledRule] = []
        for (index, rule) in policy.rules(direction).enumerated() {
            let ruleReference = RuleReference(policy: reference, direction: direction, index: index)
            let peers = rule.peers.isEmpty
                ? [PeerAlternative(family: nil, condition: nil, key: "any", contains: { _, _ in true })]
                : rule.peers.flatMap { peerAlternatives($0, namespace: policy.namespace) }
            for peer in peers {
                for ports in Self.portAlternatives(rule.ports) {
                    var base = CompiledRule(
                        rule: ruleReference, family: peer.family, protocol: ports.protocol, source: nil, destination: nil,
                        sourcePorts: [], destinationPorts: ports.ranges, sourceNamedPorts: nil, destinationNamedPorts: nil,
                        action: .allow)
                    if direction == .ingress { base.source = peer.condition } else { base.destination = peer.condition }
                    guard !ports.names.isEmpty, let transport = ports.protocol else {
                        compiled.append(base)
                        continue
                    }
                    for family in peer.family.map({ [$0] }) ?? [.v4, .v6] {
                        var rule = base
                        rule.family = family
                        var owners = peer.contains
                        if direction == .ingress {
                            let (namespace, selector) = (policy.namespace, policy.podSelector)
                            owners = { endpoint, _ in endpoint.namespace == namespace && selector.matches(endpoint.labels) }
                        }
                        // Ingress: the selected pods (keyed by selector, so policies selecting alike share the set).
                        let ownerKey = direction == .ingress ? "pods \(policy.podSelector) in namespace \(policy.namespace)" : peer.key
                        rule.destinationNamedPorts = namedPortSet(
                            owners: owners, ownerKey: ownerKey, names: ports.names, protocol: transport, family: family)
                        compiled.append(rule)
                    }
                }
            }
        }
        return compiled
    }

    private mutating func peerAlternatives(_ peer: NetworkPolicyPeer, namespace: String) -> [PeerAlternative] {
        switch peer {
        case let .ipBlock(block):
            let key = "cidr \(block.cidr) except \(block.except.map(\.description).sorted().joined(separator: ","))"
            let family = block.cidr.family
            let name = registry.addressSet(key: key, family: family, origin: key) {
                AddressRange.ranges(of: [block.cidr], excluding: block.except, family: family)
            }
            return [PeerAlternative(family: family, condition: .inSet(name), key: key, contains: { _, address in block.contains(address) })]
        case let .pods(podSelector, namespaceSelector):
            let scope = namespaceSelector.map { "namespaces \($0)" } ?? "namespace \(namespace)"
            let key = "pods \(podSelector?.description ?? "<all>") in \(scope)"
            let contains: @Sendable (Endpoint, IPAddress) -> Bool = { endpoint, _ in
                let namespaceMatches = namespaceSelector?.matches(endpoint.effectiveNamespaceLabels) ?? (endpoint.namespace == namespace)
                return namespaceMatches && (podSelector?.matches(endpoint.labels) ?? true)
            }
            return [IPAddress.Family.v4, .v6].map { family in
                let cluster = cluster
                let name = registry.addressSet(
                    key: key, family: family, origin: key, membership: SetMembership(family: family, admits: contains)
                ) {
                    Self.members(of: cluster, family: family, contains)
                }
                return PeerAlternative(family: family, condition: .inSet(name), key: key, contains: contains)
            }
        }
    }

    static func portAlternatives(_ ports: [NetworkPolicyPort]) -> [PortAlternative] {
        if ports.isEmpty { return [PortAlternative(protocol: nil)] }
        var alternatives: [PortAlternative] = []
        for transport in Set(ports.map(\.protocol)).sorted() {
            let specs = ports.filter { $0.protocol == transport }
            if specs.contains(where: { $0.port == nil }) {
                alternatives.append(PortAlternative(protocol: transport))
                continue
            }
            let ranges = Array(Set(specs.compactMap(\.numericRange))).sorted()
            if !ranges.isEmpty { alternatives.append(PortAlternative(protocol: transport, ranges: ranges)) }
            let names = Array(Set(specs.compactMap { spec -> String? in
                if case let .named(name)? = spec.port { return name }
                return nil
            })).sorted()
            if !names.isEmpty { alternatives.append(PortAlternative(protocol: transport, names: names)) }
        }
        return alternatives
    }

    // MARK: Shared

    static func members(
        of cluster: ClusterState, family: IPAddress.Family, _ contains: (Endpoint, IPAddress) -> Bool
    ) -> [AddressRange] {
        var result: [AddressRange] = []
        let endpoints = cluster.endpoints
        for position in endpoints.indices {
            for address in endpoints[position].addresses where address.family == family && contains(endpoints[position], address) {
                result.append(AddressRange(address: address))
            }
        }
        return result
    }

    mutating func namedPortSet(
        owners: @Sendable @escaping (Endpoint, IPAddress) -> Bool, ownerKey: String, names: [String], protocol transport: TransportProtocol,
        family: IPAddress.Family
    ) -> String {
        let key = "ports \(names.joined(separator: ","))/\(transport) of \(ownerKey)"
        let cluster = cluster
        let membership = SetMembership(family: family, admits: owners, portNames: names, transport: transport)
        return registry.namedPortSet(key: key, family: family, origin: key, membership: membership) {
            var result: [NamedPortElement] = []
            let endpoints = cluster.endpoints
            for position in endpoints.indices where !endpoints[position].namedPorts.isEmpty {
                for address in endpoints[position].addresses where address.family == family && owners(endpoints[position], address) {
                    for name in names {
                        if let port = endpoints[position].port(named: name, protocol: transport) {
                            result.append(NamedPortElement(address: address, protocol: transport, port: port))
                        }
                    }
                }
            }
            return result
        }
    }
}
