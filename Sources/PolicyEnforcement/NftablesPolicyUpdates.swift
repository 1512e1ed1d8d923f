import NetPrimitives
import Netlink
import Nftables
import Policy

extension NftablesPolicyCompiler {
    /// The transaction for a change of endpoints only (pods added, removed, relabelled so that
    /// their own policies change) plus set elements: each affected endpoint's chains are
    /// flushed and rewritten and its dispatch-map entries swapped, in one batch; policy chains
    /// and other endpoints are untouched. Nil when the change needs a full replacement
    /// (policies or sets added or removed, or endpoints dispatched by address).
    public func endpointTransaction(
        for changes: ProgramChanges, from old: PolicyProgram, to new: PolicyProgram
    ) throws(PolicyError) -> NftablesTransaction? {
        var structural = changes
        structural.addressSetElements = []
        structural.namedPortSetElements = []
        structural.addedEndpoints = []
        structural.removedEndpoints = []
        structural.changedEndpoints = []
        guard structural.isEmpty else { return nil }
        let oldByName = Dictionary(old.endpoints.map { ($0.chainName, $0) }, uniquingKeysWith: { first, _ in first })
        let before = (changes.removedEndpoints + changes.changedEndpoints).compactMap { oldByName[$0.chainName] }
        let after = changes.addedEndpoints + changes.changedEndpoints
        guard (before + after).allSatisfy({ $0.interfaceName != nil }) else { return nil }

        let oldContents = try endpointContents(before, program: old)
        let newContents = try endpointContents(after, program: new)
        var transaction = NftablesTransaction()
        let maps = [
            PolicyDirection.egress: NftablesSet(table: table, name: Names.egressInterfaces, keyType: [.interfaceName], mapData: .verdict),
            .ingress: NftablesSet(table: table, name: Names.ingressInterfaces, keyType: [.interfaceName], mapData: .verdict),
        ]
        for direction in PolicyDirection.allCases {
            transaction.delete(elements: Self.dispatchElements(before, direction), from: maps[direction]!)
        }
        let newChainNames = Set(newContents.chains.map(\.name))
        for chain in oldContents.chains { transaction.flush(chain) }
        for chain in oldContents.chains where !newChainNames.contains(chain.name) { transaction.delete(chain) }
        let oldChainNames = Set(oldContents.chains.map(\.name))
        for chain in newContents.chains where !oldChainNames.contains(chain.name) { transaction.add(chain) }
        for rule in newContents.rules { transaction.add(rule) }
        for direction in PolicyDirection.allCases {
            transaction.add(elements: Self.dispatchElements(after, direction), to: maps[direction]!)
        }
        let elements = try elementTransaction(for: changes, in: new)
        for operation in elements.operations { transaction.append(operation) }
        return transaction
    }

    static func dispatchElements(_ endpoints: [CompiledEndpoint], _ direction: PolicyDirection) -> [NftablesSetElement] {
        endpoints.compactMap { endpoint in
            guard let interface = endpoint.interfaceName, !endpoint.tiers(direction).isEmpty else { return nil }
            return NftablesSetElement(.interfaceName(interface.description), verdict: .jump(endpoint.chainName(direction)))
        }
    }

    /// The chains and rules of some endpoints, lowering only the policies they use.
    func endpointContents(_ endpoints: [CompiledEndpoint], program: PolicyProgram) throws(PolicyError) -> NftablesTableContents {
        var contents = NftablesTableContents(table: table)
        var used: Set<String> = []
        for endpoint in endpoints {
            for direction in PolicyDirection.allCases {
                for tier in endpoint.tiers(direction) { used.formUnion(tier.policies) }
            }
        }
        let families = Dictionary(
            program.addressSets.map { ($0.name, $0.family) } + program.namedPortSets.map { ($0.name, $0.family) },
            uniquingKeysWith: { first, _ in first })
        let lowering = RuleLowering(table: table, setFamilies: families)
        var passRules: [String: [[NftablesMatch]]] = [:]
        for policy in program.policies where used.contains(policy.chainName) {
            for direction in PolicyDirection.allCases {
                var passes: [[NftablesMatch]] = []
                for rule in policy.rules(direction) where rule.action == .pass {
                    passes += try lowering.matches(of: rule)
                }
                passRules[policy.chainName(direction)] = passes
            }
        }
        for endpoint in endpoints { try addEndpoint(endpoint, to: &contents, passRules: passRules) }
        return contents
    }
}
