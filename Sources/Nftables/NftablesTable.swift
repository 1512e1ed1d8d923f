import Netlink
import NetPrimitives

/// The address family of an nftables table: `inet` (IPv4 and IPv6), `ip` or `ip6`.
public enum NftablesFamily: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// `inet`: one table sees IPv4 and IPv6 packets.
    case inet
    /// `ip`: IPv4 only.
    case ipv4 = "ip"
    /// `ip6`: IPv6 only.
    case ipv6 = "ip6"

    /// The spelling `nft` uses (`inet`, `ip`, `ip6`).
    public var description: String { rawValue }

    /// The kernel's protocol family number (NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6).
    var protocolFamily: UInt16 {
        switch self {
        case .inet: 1
        case .ipv4: 2
        case .ipv6: 10
        }
    }

    init?(protocolFamily: UInt32) {
        switch protocolFamily {
        case 1: self = .inet
        case 2: self = .ipv4
        case 10: self = .ipv6
        default: return nil
        }
    }

    /// Whether packets of `family` reach a table of this family.
    func carries(_ family: IPAddress.Family) -> Bool {
        switch self {
        case .inet: true
        case .ipv4: family == .v4
        case .ipv6: family == .v6
        }
    }
}

/// An nftables table: a family and a name (`nft add table inet swiftcni_policy`).
public struct NftablesTable: Hashable, Sendable, CustomStringConvertible {
    public var family: NftablesFamily
    public var name: String

    public init(family: NftablesFamily = .inet, name: String) {
        self.family = family
        self.name = name
    }

    /// `inet swiftcni_policy`, as `nft` names a table.
    public var description: String { "\(family) \(name)" }
}

/// An nftables chain. A base chain has a ``BaseConfiguration`` (type, hook, priority, policy) and
/// sees packets; a regular chain is only reached by `jump`/`goto` or a verdict map.
///
/// `nft add chain inet t input { type filter hook input priority 0; policy drop; }`
public struct NftablesChain: Hashable, Sendable, CustomStringConvertible {
    /// The chain type of a base chain.
    public enum ChainType: String, Hashable, Sendable, CaseIterable {
        case filter, nat, route
    }

    /// The netfilter hook a base chain attaches to.
    public enum Hook: String, Hashable, Sendable, CaseIterable {
        case prerouting, input, forward, output, postrouting

        /// NF_INET_PRE_ROUTING ... NF_INET_POST_ROUTING.
        var number: UInt32 {
            switch self {
            case .prerouting: 0
            case .input: 1
            case .forward: 2
            case .output: 3
            case .postrouting: 4
            }
        }

        init?(number: UInt32) {
            guard let hook = Hook.allCases.first(where: { $0.number == number }) else { return nil }
            self = hook
        }
    }

    /// What a base chain does with a packet no rule decided on.
    public enum Policy: String, Hashable, Sendable, CaseIterable {
        case accept, drop
    }

    /// Type, hook, priority and policy of a base chain.
    public struct BaseConfiguration: Hashable, Sendable {
        public var type: ChainType
        public var hook: Hook
        /// Lower runs first; `filter` is 0, `dstnat` -100, `srcnat` 100.
        public var priority: Int32
        public var policy: Policy

        public init(type: ChainType = .filter, hook: Hook, priority: Int32 = 0, policy: Policy = .accept) {
            self.type = type
            self.hook = hook
            self.priority = priority
            self.policy = policy
        }
    }

    public var table: NftablesTable
    public var name: String
    /// Present for a base chain, nil for a regular chain.
    public var base: BaseConfiguration?

    /// A regular chain (`nft add chain inet t name`).
    public init(table: NftablesTable, name: String) {
        self.table = table
        self.name = name
        self.base = nil
    }

    /// A base chain (`nft add chain inet t name { type T hook H priority P; policy X; }`).
    public init(table: NftablesTable, name: String, base: BaseConfiguration?) {
        self.table = table
        self.name = name
        self.base = base
    }

    /// A base chain from its parts.
    public static func base(
        table: NftablesTable, name: String, type: ChainType = .filter, hook: Hook,
        priority: Int32 = 0, policy: Policy = .accept
    ) -> NftablesChain {
        NftablesChain(
            table: table, name: name,
            base: BaseConfiguration(type: type, hook: hook, priority: priority, policy: policy))
    }

    public var description: String { "\(table) \(name)" }
}
