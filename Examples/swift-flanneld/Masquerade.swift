import Netlink
import Nftables
import NetPrimitives

/// `--ip-masq`: traffic from the cluster network to anywhere outside it is masqueraded; pod to
/// pod traffic is not. One table owned by the agent, `inet swiftcni_nat`, replaced atomically:
///
/// ```
/// table inet swiftcni_nat {
///   chain postrouting {
///     type nat hook postrouting priority 100; policy accept;
///     ip saddr 10.244.0.0/16 ip daddr 10.244.0.0/16 counter return
///     ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 counter masquerade fully-random
///     ip6 saddr fd00:10:244::/56 ip6 daddr fd00:10:244::/56 counter return
///     ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 counter masquerade fully-random
///   }
/// }
/// ```
///
/// The `ip6` rules only with an IPv6 network (dual-stack or IPv6-only), the `ip` rules only
/// with an IPv4 one.
enum Masquerade {
    static let table = NftablesTable(family: .inet, name: "swiftcni_nat")

    static func contents(network: IPNetwork?, ipv6Network: IPNetwork? = nil) throws -> NftablesTableContents {
        let chain = NftablesChain.base(table: table, name: "postrouting", type: .nat, hook: .postrouting, priority: 100)
        var rules: [NftablesRule] = []
        for (cluster, multicast) in [(network, "224.0.0.0/4"), (ipv6Network, "ff00::/8")] {
            guard let cluster = cluster?.network else { continue }
            let multicast = try IPNetwork(parsing: multicast)
            let suffix = cluster.family == .v6 ? " (IPv6)" : ""
            rules += [
                NftablesRule(in: chain, matches: [.sourceAddress(cluster), .destinationAddress(cluster)], statements: [.counter, .return],
                             comment: "flannel: pod to pod" + suffix),
                NftablesRule(in: chain, matches: [.sourceAddress(cluster), .destinationAddress(multicast, negated: true)],
                             statements: [.counter, .masqueradeFullyRandom], comment: "flannel: leaving the cluster network" + suffix),
            ]
        }
        return NftablesTableContents(table: table, chains: [chain], rules: rules)
    }

    /// Installs the table unless it already holds exactly these rules.
    static func ensure(network: IPNetwork?, ipv6Network: IPNetwork? = nil, handle: NftablesHandle) throws {
        let wanted = try contents(network: network, ipv6Network: ipv6Network)
        if let current = try? handle.contents(of: table), current.isEquivalent(to: wanted) { return }
        var transaction = NftablesTransaction()
        transaction.replace(with: wanted)
        try handle.apply(transaction)
    }
}
