import NetPrimitives
import Netlink
import Nftables
import Policy

/// Lowers a `PolicyProgram` into the nftables rule set of table `inet swiftcni_policy`. Pure:
/// it builds values and never talks to the kernel.
///
/// The layout (see "The rule set" in the module overview):
/// - base chains `egress` (hook forward, priority 0), `ingress` (hook forward, priority 10)
///   and `node-egress` (hook input, priority 0: a pod talking to its own node). Each accepts
///   `ct state established,related` first, drops `ct state invalid` (`node-egress` then
///   accepts IPv6 neighbour discovery, `meta l4proto icmpv6 ct state untracked`), then dispatches through a
///   verdict map keyed by the pod's host-side interface (`iifname vmap @egress-interfaces`,
///   `oifname vmap @ingress-interfaces`) or, for endpoints without one, by address
///   (`ip saddr vmap @egress-addresses4`…). Ingress and egress live in separate base chains,
///   so an `accept` settles one direction only and the other is still checked.
/// - one chain per policy and direction (`p…-i`, `p…-e`), shared by every endpoint the policy
///   selects: Allow is `accept`, Deny `drop`, Log `log` (and continue), Pass `return`.
/// - one chain per isolated endpoint and direction (`e…-i`, `e…-e`): node addresses accepted
///   (ingress), then per tier `jump` each policy chain in order; after a policy that has Pass
///   rules, the same conditions `goto` the next tier's chain (`e…-i-1`, …) or `accept` after
///   the last tier; the end of a tier drops (default deny).
/// - named sets for selector matches (`a…4`, `a…6`; `flags interval` for ipBlock/nets sets) and named ports
///   (`n…4`: `ipv4_addr . inet_proto . inet_service`), so pod and label changes are element
///   updates.
public struct NftablesPolicyCompiler: Sendable {
    /// `inet swiftcni_policy`.
    public static let defaultTable = NftablesTable(family: .inet, name: PolicyProgram.tableName)

    public var table: NftablesTable
    /// Priority of the egress base chains; ingress runs at this plus 10.
    public var priority: Int32

    public init(table: NftablesTable = NftablesPolicyCompiler.defaultTable, priority: Int32 = 0) {
        self.table = table
        self.priority = priority
    }

    /// Names of the objects the compiler creates besides policy and endpoint chains.
    public enum Names {
        public static let egressChain = "egress"
        public static let ingressChain = "ingress"
        public static let nodeEgressChain = "node-egress"
        public static let egressInterfaces = "egress-interfaces"
        public static let ingressInterfaces = "ingress-interfaces"
        public static func egressAddresses(_ family: IPAddress.Family) -> String { "egress-addresses\(family == .v4 ? 4 : 6)" }
        public static func ingressAddresses(_ family: IPAddress.Family) -> String { "ingress-addresses\(family == .v4 ? 4 : 6)" }
    }

    /// The whole table for `program`.
    public func contents(for program: PolicyProgram) throws(PolicyError) -> NftablesTableContents {
        var contents = NftablesTableContents(table: table)
        addDispatch(to: &contents, program: program)
        for set in program.addressSets {
            let nftSet = addressSet(set)
            contents.sets.append(nftSet)
            contents.elements[set.name] = set.elements.map { NftablesSetElement(Self.value(of: $0)) }
        }
        for set in program.namedPortSets {
            let nftSet = namedPortSet(set)
            contents.sets.append(nftSet)
            contents.elements[set.name] = try set.elements.map(Self.element)
        }
        let families = Dictionary(
            program.addressSets.map { ($0.name, $0.family) } + program.namedPortSets.map { ($0.name, $0.family) },
            uniquingKeysWith: { first, _ in first })
        let lowering = RuleLowering(table: table, setFamilies: families)
        var passRules: [String: [[NftablesMatch]]] = [:]
        for policy in program.policies {
            for direction in PolicyDirection.allCases {
                let chain = NftablesChain(table: table, name: policy.chainName(direction))
                contents.chains.append(chain)
                var passes: [[NftablesMatch]] = []
                for rule in policy.rules(direction) {
                    for matches in try lowering.matches(of: rule) {
                        contents.rules.append(NftablesRule(
                            in: chain, matches: matches, statements: [Self.statement(for: rule)],
                            comment: Self.comment(rule.rule.description)))
                        if rule.action == .pass { passes.append(matches) }
                    }
                }
                passRules[chain.name] = passes
            }
        }
        for endpoint in program.endpoints {
            try addEndpoint(endpoint, to: &contents, passRules: passRules)
        }
        return contents
    }

    /// One transaction that replaces the table with `program`'s rule set atomically.
    public func replacement(for program: PolicyProgram) throws(PolicyError) -> NftablesTransaction {
        var transaction = NftablesTransaction()
        transaction.replace(with: try contents(for: program))
        return transaction
    }

    /// The transaction for an element-only change (`ProgramChanges/isElementOnly`): set
    /// element deletions, then additions; no rule is touched.
    public func elementTransaction(for changes: ProgramChanges, in program: PolicyProgram) throws(PolicyError)
        -> NftablesTransaction
    {
        var transaction = NftablesTransaction()
        for change in changes.addressSetElements {
            guard let set = program.addressSet(named: change.name) else { continue }
            let nftSet = addressSet(set)
            transaction.delete(elements: change.removed.map { NftablesSetElement(Self.value(of: $0)) }, from: nftSet)
            transaction.add(elements: change.added.map { NftablesSetElement(Self.value(of: $0)) }, to: nftSet)
        }
        for change in changes.namedPortSetElements {
            guard let set = program.namedPortSet(named: change.name) else { continue }
            let nftSet = namedPortSet(set)
            transaction.delete(elements: try change.removed.map(Self.element), from: nftSet)
            transaction.add(elements: try change.added.map(Self.element), to: nftSet)
        }
        return transaction
    }

    /// The rule set as one `nft -f` table block (it adds to an existing table of that name).
    public func nftText(for program: PolicyProgram) throws(PolicyError) -> String {
        try contents(for: program).nftText
    }

    // MARK: Sets

    func addressSet(_ set: AddressSet) -> NftablesSet {
        // Selector sets hold single addresses: a hash set (cheaper, and its elements are live
        // the moment a transaction commits). Network sets hold intervals.
        NftablesSet(
            table: table, name: set.name, keyType: [set.family == .v4 ? .ipv4Address : .ipv6Address],
            isInterval: !set.holdsEndpointAddresses && set.elements.contains { $0.lowerBound != $0.upperBound })
    }

    func namedPortSet(_ set: NamedPortSet) -> NftablesSet {
        NftablesSet(table: table, name: set.name, keyType: [set.family == .v4 ? .ipv4Address : .ipv6Address, .l4Protocol, .port])
    }

    /// An address range the way the kernel reads it back: a single address, a prefix, or a range.
    static func value(of range: AddressRange) -> NftablesValue {
        let (low, high) = (range.lowerBound, range.upperBound)
        if low == high { return .address(low) }
        let span = high.numericValue - low.numericValue
        if span < UInt128.max, (span + 1) & span == 0 {
            let hostBits = (span + 1).trailingZeroBitCount
            if let network = try? IPNetwork(address: low, prefixLength: low.family.bitWidth - hostBits),
               network.network.address == low
            {
                return .network(network)
            }
        }
        return .addressRange(low, high)
    }

    static func element(_ element: NamedPortElement) throws(PolicyError) -> NftablesSetElement {
        NftablesSetElement(concatenation: [.address(element.address), .l4Protocol(try transport(element.protocol)), .port(element.port)])
    }

    static func transport(_ transport: TransportProtocol) throws(PolicyError) -> NftablesTransportProtocol {
        switch transport {
        case .tcp: return .tcp
        case .udp: return .udp
        case .sctp: return .sctp
        case .icmp: return .icmp
        case .icmpv6: return .icmpv6
        default: throw PolicyError(.unsupportedField, "protocol \(transport) cannot be enforced with nftables here")
        }
    }

    static func statement(for rule: CompiledRule) -> NftablesStatement {
        switch rule.action {
        case .allow: .accept
        case .deny: .drop
        case .log: .log(prefix: String("swcni \(rule.rule.policy.name) ".utf8.prefix(60)) ?? "swcni ")
        case .pass: .return
        }
    }

    /// nftables keeps at most 128 bytes of comment.
    static func comment(_ text: String) -> String {
        var result = ""
        for character in text where result.utf8.count + character.utf8.count <= 120 && character != "\"" {
            result.append(character)
        }
        return result
    }
}
