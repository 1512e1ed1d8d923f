import Namespaces
import Netlink
import Nftables
import NetPrimitives

/// natOutgoing: masquerades traffic from a pool with `natOutgoing` that leaves every pool of
/// its family (IPv4 and IPv6 pools alike: `ip6 saddr … masquerade` for IPv6), in the agent's
/// own table (`nft list table inet swiftcni_nat`):
///
/// ```
/// table inet swiftcni_nat {
///   chain postrouting { type nat hook postrouting priority 100; policy accept;
///     ip saddr 10.244.0.0/16 ip daddr 10.244.0.0/16 return
///     ip saddr 10.244.0.0/16 masquerade } }
/// ```
struct OutgoingNAT: Sendable {
    static let table = NftablesTable(family: .inet, name: "swiftcni_nat")

    var natPools: [IPNetwork]
    var allPools: [IPNetwork]

    init?(pools: [NodeConfiguration.IPPool]) {
        natPools = pools.filter { $0.natOutgoing == true }.map(\.cidr.network)
        allPools = pools.map(\.cidr.network)
        if natPools.isEmpty { return nil }
    }

    var transaction: NftablesTransaction {
        let chain = NftablesChain.base(
            table: Self.table, name: "postrouting", type: .nat, hook: .postrouting, priority: 100, policy: .accept)
        var transaction = NftablesTransaction()
        transaction.deleteIfPresent(Self.table)
        transaction.add(Self.table)
        transaction.add(chain)
        for source in natPools {
            for destination in allPools where destination.family == source.family {
                transaction.add(
                    NftablesRule(
                        in: chain, matches: [.sourceAddress(source), .destinationAddress(destination)], statements: [.return]))
            }
            transaction.add(NftablesRule(in: chain, matches: [.sourceAddress(source)], statements: [.masquerade]))
        }
        return transaction
    }

    /// Replaces the table atomically (one nftables batch).
    func apply(in namespace: NetworkNamespace) async throws {
        let handle = try await NftablesHandle.open(in: namespace)
        try handle.apply(transaction)
    }
}
