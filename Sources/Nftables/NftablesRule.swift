import Netlink
import NetPrimitives

/// A packet field a set lookup, concatenation or verdict map reads.
public enum NftablesSelector: Hashable, Sendable, CustomStringConvertible {
    /// `ip saddr` / `ip6 saddr`
    case sourceAddress(IPAddress.Family)
    /// `ip daddr` / `ip6 daddr`
    case destinationAddress(IPAddress.Family)
    /// `tcp sport` / `udp sport`
    case sourcePort(NftablesTransportProtocol)
    /// `tcp dport` / `udp dport`
    case destinationPort(NftablesTransportProtocol)
    /// `iifname`
    case inputInterfaceName
    /// `oifname`
    case outputInterfaceName
    /// `meta mark`
    case mark
    /// `meta l4proto`
    case l4Protocol

    /// The type of the values this field holds.
    public var dataType: NftablesDataType {
        switch self {
        case .sourceAddress(let family), .destinationAddress(let family):
            family == .v4 ? .ipv4Address : .ipv6Address
        case .sourcePort, .destinationPort: .port
        case .inputInterfaceName, .outputInterfaceName: .interfaceName
        case .mark: .mark
        case .l4Protocol: .l4Protocol
        }
    }

    public var description: String {
        switch self {
        case .sourceAddress(let family): family == .v4 ? "ip saddr" : "ip6 saddr"
        case .destinationAddress(let family): family == .v4 ? "ip daddr" : "ip6 daddr"
        case .sourcePort(let proto): "\(proto.rawValue) sport"
        case .destinationPort(let proto): "\(proto.rawValue) dport"
        case .inputInterfaceName: "iifname"
        case .outputInterfaceName: "oifname"
        case .mark: "meta mark"
        case .l4Protocol: "meta l4proto"
        }
    }
}

/// Connection-tracking states (`ct state established,related`).
public struct NftablesConnectionState: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let invalid = NftablesConnectionState(rawValue: 1)
    public static let established = NftablesConnectionState(rawValue: 2)
    public static let related = NftablesConnectionState(rawValue: 4)
    public static let new = NftablesConnectionState(rawValue: 8)
    public static let untracked = NftablesConnectionState(rawValue: 64)

    static let named: [(NftablesConnectionState, String)] = [
        (.invalid, "invalid"), (.established, "established"), (.related, "related"), (.new, "new"),
        (.untracked, "untracked"),
    ]

    /// `established,related`, in the order `nft` prints.
    public var description: String {
        Self.named.filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

/// A route type as `fib daddr type` reports it.
public enum NftablesAddressType: String, Hashable, Sendable, CaseIterable {
    case unicast, local, broadcast, anycast, multicast, blackhole, unreachable, prohibit

    /// The RTN_* number.
    var number: UInt32 {
        UInt32(Self.allCases.firstIndex(of: self)! + 1)
    }
}

/// A typed condition of a rule. A rule matches when all of its matches do.
public enum NftablesMatch: Hashable, Sendable, CustomStringConvertible {
    /// `ip saddr 10.0.0.0/8` (`ip6 saddr` for IPv6; a host address is a /32 or /128 prefix).
    case sourceAddress(IPNetwork, negated: Bool = false)
    /// `ip daddr 10.0.0.0/8`
    case destinationAddress(IPNetwork, negated: Bool = false)
    /// `meta l4proto tcp`
    case l4Protocol(NftablesTransportProtocol)
    /// `tcp sport 53` or `tcp sport 1000-2000` (a one-port range is a single port).
    case sourcePort(NftablesTransportProtocol, ClosedRange<UInt16>, negated: Bool = false)
    /// `tcp dport 80` or `tcp dport 1000-2000`.
    case destinationPort(NftablesTransportProtocol, ClosedRange<UInt16>, negated: Bool = false)
    /// `iifname "eth0"`
    case inputInterface(String, negated: Bool = false)
    /// `oifname "eth0"`
    case outputInterface(String, negated: Bool = false)
    /// `ct state established,related`: any of the states.
    case connectionState(NftablesConnectionState)
    /// `meta mark 0x00000010`
    case mark(UInt32)
    /// `fib daddr type local`
    case destinationAddressType(NftablesAddressType)
    /// `ip saddr @allowed`, `ip saddr . tcp dport @pairs`, `iifname != @trusted`: the fields
    /// (concatenated when more than one) are looked up in a named set.
    case inSet([NftablesSelector], set: String, negated: Bool = false)
    /// `tcp dport { 22, 80 }`, `ip saddr != { 10.0.0.0/8, 192.168.0.0/16 }`,
    /// `ip saddr . tcp dport { 10.0.0.1 . 80 }`: the fields are looked up in an anonymous set
    /// that lives and dies with the rule. Prefixes and ranges make it an interval set.
    case inValues([NftablesSelector], [NftablesSetElement], negated: Bool = false)

    /// The match with inline-set values in a canonical order.
    var normalized: NftablesMatch {
        guard case .inValues(let selectors, let elements, let negated) = self else { return self }
        return .inValues(selectors, elements.sorted { $0.description < $1.description }, negated: negated)
    }

    /// `tcp dport 80`
    public static func destinationPort(_ proto: NftablesTransportProtocol, _ port: UInt16) -> NftablesMatch {
        .destinationPort(proto, port...port)
    }

    /// `tcp sport 80`
    public static func sourcePort(_ proto: NftablesTransportProtocol, _ port: UInt16) -> NftablesMatch {
        .sourcePort(proto, port...port)
    }

    /// `tcp dport { 22, 80 }` for one field.
    public static func field(_ selector: NftablesSelector, in values: [NftablesValue], negated: Bool = false)
        -> NftablesMatch
    {
        .inValues([selector], values.map { NftablesSetElement($0) }, negated: negated)
    }

    /// `ip saddr @name` for one field.
    public static func field(_ selector: NftablesSelector, inSet set: String, negated: Bool = false) -> NftablesMatch {
        .inSet([selector], set: set, negated: negated)
    }

    /// The matcher as `nft` writes it.
    public var description: String {
        func not(_ negated: Bool) -> String { negated ? "!= " : "" }
        func ports(_ range: ClosedRange<UInt16>) -> String {
            NftablesValue.portRange(range).description
        }
        switch self {
        case .sourceAddress(let network, let negated):
            return "\(NftablesSelector.sourceAddress(network.family)) \(not(negated))\(NftablesValue.network(network))"
        case .destinationAddress(let network, let negated):
            return "\(NftablesSelector.destinationAddress(network.family)) \(not(negated))\(NftablesValue.network(network))"
        case .l4Protocol(let proto):
            return "meta l4proto \(proto.rawValue)"
        case .sourcePort(let proto, let range, let negated):
            return "\(proto.rawValue) sport \(not(negated))\(ports(range))"
        case .destinationPort(let proto, let range, let negated):
            return "\(proto.rawValue) dport \(not(negated))\(ports(range))"
        case .inputInterface(let name, let negated):
            return "iifname \(not(negated))\"\(name)\""
        case .outputInterface(let name, let negated):
            return "oifname \(not(negated))\"\(name)\""
        case .connectionState(let state):
            return "ct state \(state)"
        case .mark(let mark):
            return "meta mark \(NftablesValue.hex(mark))"
        case .destinationAddressType(let type):
            return "fib daddr type \(type.rawValue)"
        case .inValues(let selectors, let elements, let negated):
            let fields = selectors.map(\.description).joined(separator: " . ")
            return "\(fields) \(not(negated)){ \(elements.map(\.description).joined(separator: ", ")) }"
        case .inSet(let selectors, let set, let negated):
            return "\(selectors.map(\.description).joined(separator: " . ")) \(not(negated))@\(set)"
        }
    }
}

/// What a rule does once its matches hold.
public enum NftablesStatement: Hashable, Sendable, CustomStringConvertible {
    /// `accept`, `drop`, `return`, `jump CHAIN`, `goto CHAIN`
    case verdict(NftablesVerdict)
    /// `counter`
    case counter
    /// `log` or `log prefix "TEXT"`
    case log(prefix: String?)
    /// `reject` (ICMP port unreachable, per family)
    case reject
    /// `reject with tcp reset` (needs a TCP match, e.g. `.l4Protocol(.tcp)` or a TCP port)
    case rejectWithTCPReset
    /// `masquerade` (nat chains, postrouting)
    case masquerade
    /// `masquerade fully-random` (source ports chosen at random, as flannel's `--random-fully`)
    case masqueradeFullyRandom
    /// `snat ip to 1.2.3.4` or `snat ip to 1.2.3.4:80` (a port needs an L4 protocol match)
    case sourceNAT(IPAddress, port: UInt16? = nil)
    /// `dnat ip to 10.0.0.1` or `dnat ip to 10.0.0.1:8080`
    case destinationNAT(IPAddress, port: UInt16? = nil)
    /// `iifname vmap @dispatch`: the verdict is what the map holds for the fields.
    case verdictMap([NftablesSelector], map: String)

    public static var accept: NftablesStatement { .verdict(.accept) }
    public static var drop: NftablesStatement { .verdict(.drop) }
    public static var `return`: NftablesStatement { .verdict(.return) }
    public static func jump(_ chain: String) -> NftablesStatement { .verdict(.jump(chain)) }
    public static func goto(_ chain: String) -> NftablesStatement { .verdict(.goto(chain)) }

    /// The statement as `nft` writes it.
    public var description: String {
        func target(_ address: IPAddress, _ port: UInt16?) -> String {
            let family = address.family == .v4 ? "ip" : "ip6"
            guard let port else { return "\(family) to \(address)" }
            return address.family == .v4 ? "\(family) to \(address):\(port)" : "\(family) to [\(address)]:\(port)"
        }
        switch self {
        case .verdict(let verdict): return verdict.description
        case .counter: return "counter"
        case .log(let prefix):
            guard let prefix else { return "log" }
            return "log prefix \"\(prefix)\""
        case .reject: return "reject"
        case .rejectWithTCPReset: return "reject with tcp reset"
        case .masquerade: return "masquerade"
        case .masqueradeFullyRandom: return "masquerade fully-random"
        case .sourceNAT(let address, let port): return "snat \(target(address, port))"
        case .destinationNAT(let address, let port): return "dnat \(target(address, port))"
        case .verdictMap(let selectors, let map):
            return "\(selectors.map(\.description).joined(separator: " . ")) vmap @\(map)"
        }
    }
}

/// A rule: matches, then statements, in one chain.
///
/// `nft add rule inet t input ip saddr 10.0.0.0/8 tcp dport 22 counter accept`
public struct NftablesRule: Hashable, Sendable, CustomStringConvertible {
    public var table: NftablesTable
    public var chain: String
    public var matches: [NftablesMatch]
    public var statements: [NftablesStatement]
    /// Stored with the rule (`comment "..."`); a good key for reconciliation.
    public var comment: String?
    /// The kernel's handle; set on rules read back (``NftablesHandle/rules(in:chain:)``).
    public var handle: UInt64?
    /// False for a rule read back with kernel expressions this library does not model (written
    /// by another tool): its matches and statements are then incomplete.
    public var isFullyDecoded = true
    /// What the rule's first `counter` has counted, on rules read back.
    public var counters: Counters?

    /// Packets and bytes a `counter` statement has seen (`counter packets N bytes M`).
    public struct Counters: Hashable, Sendable {
        public var packets: UInt64
        public var bytes: UInt64
        public init(packets: UInt64, bytes: UInt64) {
            self.packets = packets
            self.bytes = bytes
        }
    }

    public init(
        table: NftablesTable, chain: String, matches: [NftablesMatch] = [], statements: [NftablesStatement],
        comment: String? = nil
    ) {
        self.table = table
        self.chain = chain
        self.matches = matches
        self.statements = statements
        self.comment = comment
        self.handle = nil
    }

    /// A rule for `chain`.
    public init(
        in chain: NftablesChain, matches: [NftablesMatch] = [], statements: [NftablesStatement],
        comment: String? = nil
    ) {
        self.init(table: chain.table, chain: chain.name, matches: matches, statements: statements, comment: comment)
    }

    /// Whether `other` is the same rule apart from its kernel handle: same table, chain,
    /// matches, statements and comment. Use it to compare desired rules with ``NftablesHandle/rules(in:chain:)``.
    /// Inline sets (``NftablesMatch/inValues(_:_:negated:)``) compare as sets: the kernel
    /// does not keep their order.
    public func isEquivalent(to other: NftablesRule) -> Bool {
        table == other.table && chain == other.chain && statements == other.statements && comment == other.comment
            && matches.map(\.normalized) == other.matches.map(\.normalized)
    }

    /// The rule body as `nft` writes it (`ip saddr 10.0.0.0/8 counter accept comment "x"`).
    public var description: String {
        var parts = matches.map(\.description) + statements.map(\.description)
        if let comment { parts.append("comment \"\(comment)\"") }
        return parts.joined(separator: " ")
    }
}
