import Netlink

/// One change in an ``NftablesTransaction``. Its description is the equivalent `nft` command.
public enum NftablesOperation: Hashable, Sendable, CustomStringConvertible {
    /// `add table inet t` (no error when it exists)
    case addTable(NftablesTable)
    /// `delete table inet t`: the table and everything in it
    case deleteTable(NftablesTable)
    /// `add chain inet t c [{ type filter hook input priority 0; policy accept; }]`
    case addChain(NftablesChain)
    /// `delete chain inet t c` (the chain must be empty and unreferenced)
    case deleteChain(NftablesChain)
    /// `flush chain inet t c`: delete every rule of the chain
    case flushChain(NftablesChain)
    /// `add set inet t s { type ipv4_addr; flags interval; }` or `add map ...`
    case addSet(NftablesSet)
    /// `delete set inet t s`
    case deleteSet(NftablesSet)
    /// `add element inet t s { 10.0.0.0/8, 192.168.0.1 }`
    case addElements(NftablesSet, [NftablesSetElement])
    /// `delete element inet t s { 10.0.0.0/8 }`
    case deleteElements(NftablesSet, [NftablesSetElement])
    /// `add rule inet t c MATCHES STATEMENTS` (appended at the end of the chain)
    case addRule(NftablesRule)
    /// `insert rule inet t c MATCHES STATEMENTS` (placed first in the chain)
    case insertRule(NftablesRule)
    /// `delete rule inet t c handle N`
    case deleteRule(NftablesTable, chain: String, handle: UInt64)

    /// The `nft` command doing the same, one line of an `nft -f` script.
    public var description: String {
        switch self {
        case .addTable(let table): return "add table \(table)"
        case .deleteTable(let table): return "delete table \(table)"
        case .addChain(let chain):
            guard let base = chain.base else { return "add chain \(chain)" }
            return "add chain \(chain) { type \(base.type.rawValue) hook \(base.hook.rawValue) "
                + "priority \(base.priority); policy \(base.policy.rawValue); }"
        case .deleteChain(let chain): return "delete chain \(chain)"
        case .flushChain(let chain): return "flush chain \(chain)"
        case .addSet(let set):
            var body = "type \(set.keyType.map(\.rawValue).joined(separator: " . "))"
            switch set.mapData {
            case nil: break
            case .verdict: body += " : verdict"
            case .value(let type): body += " : \(type.rawValue)"
            }
            body += ";"
            if set.isInterval { body += " flags interval;" }
            return "add \(set.isMap ? "map" : "set") \(set) { \(body) }"
        case .deleteSet(let set): return "delete \(set.isMap ? "map" : "set") \(set)"
        case .addElements(let set, let elements):
            return "add element \(set) { \(elements.map(\.description).joined(separator: ", ")) }"
        case .deleteElements(let set, let elements):
            return "delete element \(set) { \(elements.map(\.description).joined(separator: ", ")) }"
        case .addRule(let rule): return "add rule \(rule.table) \(rule.chain) \(rule)"
        case .insertRule(let rule): return "insert rule \(rule.table) \(rule.chain) \(rule)"
        case .deleteRule(let table, let chain, let handle): return "delete rule \(table) \(chain) handle \(handle)"
        }
    }

    /// The table the operation works in.
    var table: NftablesTable {
        switch self {
        case .addTable(let table), .deleteTable(let table), .deleteRule(let table, _, _): table
        case .addChain(let chain), .deleteChain(let chain), .flushChain(let chain): chain.table
        case .addSet(let set), .deleteSet(let set), .addElements(let set, _), .deleteElements(let set, _): set.table
        case .addRule(let rule), .insertRule(let rule): rule.table
        }
    }
}

/// Changes applied together in ONE atomic netlink batch by ``NftablesHandle/apply(_:)``:
/// either all of them take effect or none does (`nft -f FILE` semantics).
///
/// ```swift
/// var transaction = NftablesTransaction()
/// let table = NftablesTable(family: .inet, name: "swiftcni_policy")
/// transaction.add(table)
/// let input = NftablesChain.base(table: table, name: "input", hook: .input, policy: .drop)
/// transaction.add(input)
/// transaction.add(NftablesRule(in: input, matches: [.destinationPort(.tcp, 22)], statements: [.accept]))
/// try handle.apply(transaction)
/// ```
public struct NftablesTransaction: Hashable, Sendable, CustomStringConvertible {
    public private(set) var operations: [NftablesOperation] = []

    public init(_ operations: [NftablesOperation] = []) { self.operations = operations }

    public var isEmpty: Bool { operations.isEmpty }

    public mutating func append(_ operation: NftablesOperation) { operations.append(operation) }

    /// `nft add table`
    public mutating func add(_ table: NftablesTable) { append(.addTable(table)) }
    /// `nft delete table` (the table must exist)
    public mutating func delete(_ table: NftablesTable) { append(.deleteTable(table)) }
    /// Deletes the table whether or not it exists (`nft add table` then `nft delete table`).
    public mutating func deleteIfPresent(_ table: NftablesTable) {
        append(.addTable(table))
        append(.deleteTable(table))
    }
    /// `nft add chain`
    public mutating func add(_ chain: NftablesChain) { append(.addChain(chain)) }
    /// `nft delete chain`
    public mutating func delete(_ chain: NftablesChain) { append(.deleteChain(chain)) }
    /// `nft flush chain`
    public mutating func flush(_ chain: NftablesChain) { append(.flushChain(chain)) }
    /// `nft add set` / `nft add map`
    public mutating func add(_ set: NftablesSet) { append(.addSet(set)) }
    /// `nft delete set` / `nft delete map`
    public mutating func delete(_ set: NftablesSet) { append(.deleteSet(set)) }
    /// `nft add element` (does nothing for an empty list)
    public mutating func add(elements: [NftablesSetElement], to set: NftablesSet) {
        if !elements.isEmpty { append(.addElements(set, elements)) }
    }
    /// `nft delete element` (does nothing for an empty list)
    public mutating func delete(elements: [NftablesSetElement], from set: NftablesSet) {
        if !elements.isEmpty { append(.deleteElements(set, elements)) }
    }
    /// `nft add rule` (appends)
    public mutating func add(_ rule: NftablesRule) { append(.addRule(rule)) }
    /// `nft insert rule` (places the rule first in its chain)
    public mutating func insert(_ rule: NftablesRule) { append(.insertRule(rule)) }
    /// `nft delete rule ... handle N`
    public mutating func deleteRule(handle: UInt64, in chain: NftablesChain) {
        append(.deleteRule(chain.table, chain: chain.name, handle: handle))
    }

    /// The transaction as an `nft -f` script: one `nft` command per line, applied atomically by
    /// `nft -f` exactly as ``NftablesHandle/apply(_:)`` applies it.
    public var nftScript: String {
        operations.map { $0.description + "\n" }.joined()
    }

    public var description: String { nftScript }
}
