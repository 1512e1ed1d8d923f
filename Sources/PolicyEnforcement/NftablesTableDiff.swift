import Netlink
import Nftables
import Policy

extension NftablesPolicyCompiler {
    /// One transaction that turns the table `current` into `desired` in place: new chains and
    /// sets added, set elements added and removed, chains whose rules differ flushed and
    /// rewritten, vanished chains and sets deleted. Objects that did not change are not
    /// touched, so sets already in use keep serving lookups while the batch commits (a set
    /// created anew by a whole-table replacement can miss lookups for a moment after the
    /// commit on some kernels; see "The rule set" in the module overview). Nil when a set or chain keeps its name
    /// but changes its definition, or the tables differ: then replace the table instead.
    public func transaction(from current: NftablesTableContents, to desired: NftablesTableContents) -> NftablesTransaction? {
        guard current.table == desired.table else { return nil }
        let currentSets = Dictionary(current.sets.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let currentChains = Dictionary(current.chains.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for set in desired.sets where currentSets[set.name].map({ $0 != set }) ?? false { return nil }
        for chain in desired.chains where currentChains[chain.name].map({ $0 != chain }) ?? false { return nil }
        let desiredSetNames = Set(desired.sets.map(\.name))
        let desiredChainNames = Set(desired.chains.map(\.name))
        var currentRules: [String: [NftablesRule]] = [:]
        for rule in current.rules { currentRules[rule.chain, default: []].append(rule) }
        var desiredRules: [String: [NftablesRule]] = [:]
        for rule in desired.rules { desiredRules[rule.chain, default: []].append(rule) }

        var transaction = NftablesTransaction()
        for chain in desired.chains where currentChains[chain.name] == nil { transaction.add(chain) }
        for set in desired.sets where currentSets[set.name] == nil {
            transaction.add(set)
            transaction.add(elements: desired.elements[set.name] ?? [], to: set)
        }
        // Element deltas of kept sets: removals first (a map key may change its verdict).
        var additions: [(NftablesSet, [NftablesSetElement])] = []
        for set in desired.sets where currentSets[set.name] != nil {
            let before = current.elements[set.name] ?? [], after = desired.elements[set.name] ?? []
            let beforeSet = Set(before), afterSet = Set(after)
            transaction.delete(elements: before.filter { !afterSet.contains($0) }, from: set)
            additions.append((set, after.filter { !beforeSet.contains($0) }))
        }
        var rewritten: [NftablesChain] = []
        for chain in desired.chains where currentChains[chain.name] != nil {
            let before = currentRules[chain.name] ?? [], after = desiredRules[chain.name] ?? []
            if before.count != after.count || !zip(before, after).allSatisfy({ $0.isEquivalent(to: $1) }) {
                transaction.flush(chain)
                rewritten.append(chain)
            }
        }
        let removedChains = current.chains.filter { !desiredChainNames.contains($0.name) }
        for chain in removedChains { transaction.flush(chain) }
        for (set, elements) in additions { transaction.add(elements: elements, to: set) }
        let fresh = Set(desired.chains.filter { currentChains[$0.name] == nil }.map(\.name)).union(rewritten.map(\.name))
        for rule in desired.rules where fresh.contains(rule.chain) { transaction.add(rule) }
        for chain in removedChains { transaction.delete(chain) }
        for set in current.sets where !desiredSetNames.contains(set.name) { transaction.delete(set) }
        return transaction
    }
}
