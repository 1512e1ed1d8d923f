import Netlink

/// Everything in one table: chains, sets with their elements, and rules. The unit an owner
/// (the policy enforcer, an agent's NAT) declares, installs atomically and reads back.
public struct NftablesTableContents: Hashable, Sendable {
    public var table: NftablesTable
    public var chains: [NftablesChain]
    public var sets: [NftablesSet]
    /// Elements per set name.
    public var elements: [String: [NftablesSetElement]]
    /// Rules in order, per chain in the order of ``chains``.
    public var rules: [NftablesRule]

    public init(
        table: NftablesTable, chains: [NftablesChain] = [], sets: [NftablesSet] = [],
        elements: [String: [NftablesSetElement]] = [:], rules: [NftablesRule] = []
    ) {
        self.table = table
        self.chains = chains
        self.sets = sets
        self.elements = elements
        self.rules = rules
    }

    /// Whether `other` holds the same objects, ignoring rule handles and the order of chains,
    /// sets and elements (rule order within a chain counts).
    public func isEquivalent(to other: NftablesTableContents) -> Bool {
        guard table == other.table, Set(chains) == Set(other.chains), Set(sets) == Set(other.sets) else { return false }
        for set in sets where Set(elements[set.name] ?? []) != Set(other.elements[set.name] ?? []) { return false }
        for chain in chains {
            let mine = rules.filter { $0.chain == chain.name }
            let theirs = other.rules.filter { $0.chain == chain.name }
            guard mine.count == theirs.count, zip(mine, theirs).allSatisfy({ $0.isEquivalent(to: $1) }) else {
                return false
            }
        }
        return true
    }
}

extension NftablesTransaction {
    /// Replaces the table with `contents` in this transaction: the table is deleted when
    /// present and built again, so that one ``NftablesHandle/apply(_:)`` swaps old for new
    /// atomically (packets see the old rules or the new ones, never a mix or none).
    public mutating func replace(with contents: NftablesTableContents) {
        deleteIfPresent(contents.table)
        add(contents)
    }

    /// Adds the table and everything in it (`nft -f` of a `table { ... }` block).
    public mutating func add(_ contents: NftablesTableContents) {
        add(contents.table)
        for chain in contents.chains { add(chain) }
        for set in contents.sets {
            add(set)
            add(elements: contents.elements[set.name] ?? [], to: set)
        }
        for rule in contents.rules { add(rule) }
    }
}

extension NftablesHandle {
    /// Reads a whole table back: chains, sets, their elements and rules with handles
    /// (`nft -a list table inet NAME`).
    public func contents(of table: NftablesTable) throws(NetlinkError) -> NftablesTableContents {
        let chains = try chains(in: table)
        let sets = try sets(in: table)
        var elements: [String: [NftablesSetElement]] = [:]
        for set in sets { elements[set.name] = try self.elements(of: set) }
        let rules = try rules(in: table)
        return NftablesTableContents(table: table, chains: chains, sets: sets, elements: elements, rules: rules)
    }
}

extension NftablesTableContents {
    /// The table as one `nft -f` block, laid out like `nft list table` prints it:
    ///
    /// ```
    /// table inet swiftcni_policy {
    ///     set allowed {
    ///         type ipv4_addr
    ///         flags interval
    ///         elements = { 10.244.0.0/16 }
    ///     }
    ///
    ///     chain input {
    ///         type filter hook input priority 0; policy drop;
    ///         ip saddr @allowed tcp dport 8080 counter accept
    ///     }
    /// }
    /// ```
    ///
    /// `nft -f` of this text creates what ``NftablesTransaction/add(_:)-(NftablesTableContents)``
    /// creates (it adds to an existing table of that name rather than replacing it).
    public var nftText: String {
        var blocks: [String] = []
        for set in sets {
            var lines = ["\t\(set.isMap ? "map" : "set") \(set.name) {"]
            var type = "\t\ttype \(set.keyType.map(\.rawValue).joined(separator: " . "))"
            switch set.mapData {
            case nil: break
            case .verdict: type += " : verdict"
            case .value(let data): type += " : \(data.rawValue)"
            }
            lines.append(type)
            if set.isInterval { lines.append("\t\tflags interval") }
            if let elements = self.elements[set.name], !elements.isEmpty {
                lines.append("\t\telements = { \(elements.map(\.description).joined(separator: ", ")) }")
            }
            lines.append("\t}")
            blocks.append(lines.joined(separator: "\n"))
        }
        for chain in chains {
            var lines = ["\tchain \(chain.name) {"]
            if let base = chain.base {
                lines.append(
                    "\t\ttype \(base.type.rawValue) hook \(base.hook.rawValue) priority \(base.priority); "
                        + "policy \(base.policy.rawValue);")
            }
            for rule in rules where rule.chain == chain.name { lines.append("\t\t\(rule)") }
            lines.append("\t}")
            blocks.append(lines.joined(separator: "\n"))
        }
        return "table \(table) {\n" + blocks.joined(separator: "\n\n") + (blocks.isEmpty ? "" : "\n") + "}\n"
    }
}
