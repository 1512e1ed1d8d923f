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
///   }
/// }
/// ```
enum Masquerade {
    static let table = NftablesTable(family: .inet, name: "swiftcni_nat")

    static func contents(network: IPNetwork) throws -> NftablesTableContents {
        let chain = NftablesChain.base(table: table, name: "postrouting", type: .nat, hook: .postrouting, priority: 100)
        let cluster = network.network
        let multicast = try IPNetwork(parsing: "224.0.0.0/4")
        return NftablesTableContents(
            table: table, chains: [chain],
            rules: [
                NftablesRule(in: chain, matches: [.sourceAddress(cluster), .destinationAddress(cluster)], statements: [.counter, .return],
                             comment: "flannel: pod to pod"),
                NftablesRule(in: chain, matches: [.sourceAddress(cluster), .destinationAddress(multicast, negated: true)],
                             statements: [.counter, .masqueradeFullyRandom], comment: "flannel: leaving the cluster network"),
            ])
    }

    /// Installs the table unless it already holds exactly these rules.
    static func ensure(network: IPNetwork, handle: NftablesHandle) throws {
        let wanted = try contents(network: network)
        if let current = try? handle.contents(of: table), current.isEquivalent(to: wanted) { return }
        var transaction = NftablesTransaction()
        transaction.replace(with: wanted)
        try handle.apply(transaction)
    }
}
