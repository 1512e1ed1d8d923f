import ChildProcess
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink
@testable import Nftables

/// Installs rule sets through the library and compares them with what `nft` itself installs
/// from the rendered `nft -f` text, both inside fresh test namespaces.
@Suite("Nftables kernel", .serialized)
struct NftablesKernelTests {
    typealias Support = NftablesTestSupport

    @Test("every construct: library batch and nft -f of the rendered script give the same ruleset", .privileged)
    func everyConstructMatchesNft() async throws {
        try await NamespaceFixture.with(count: 3) { namespaces in
            let (library, reference, rendered) = (namespaces[0], namespaces[1], namespaces[2])
            let transaction = NftablesFixtures.everything
            let handle = try NftablesHandle(namespace: library)
            try handle.apply(transaction)
            try Support.nft(reference, ["-f", "-"], input: transaction.nftScript)

            let installed = try Support.nft(library, ["list", "ruleset"])
            let expected = try Support.nft(reference, ["list", "ruleset"])
            #expect(installed == expected)
            for line in [
                "ip saddr 10.0.0.0/8 ip daddr 10.1.2.3 counter packets 0 bytes 0 accept comment \"pods to node\"",
                "ip saddr != 172.16.0.0/12 drop", "ip6 daddr fd00:1::/62 drop", "ip daddr != @hosts drop",
                "tcp dport 1000-2000 reject", "tcp dport 25 reject with tcp reset", "udp dport != 5000-6000 log drop", "tcp dport @ports goto from_pods",
                "iifname \"veth0\" oifname != \"eth1\" return", "ct state established,related accept",
                "meta mark 0x00000010 drop", "fib daddr type local counter packets 0 bytes 0 accept",
                "iifname vmap @dispatch", "ip saddr . tcp dport @pairs accept comment \"concatenation\"",
                "snat to 192.0.2.1:8080", "dnat to 10.0.0.2:8080", "masquerade",
                "oifname != \"cni0\" counter packets 0 bytes 0 masquerade fully-random",
                "type filter hook input priority filter; policy drop;",
                "type nat hook postrouting priority srcnat; policy accept;",
                "type route hook output priority mangle; policy accept;",
                "elements = { 10.0.0.0/8, 192.168.1.1,", "type ifname : verdict",
                "elements = { 10.0.0.5 . 80 }", "type ipv4_addr : ipv4_addr",
                "tcp dport { 22, 80 } accept", "ip saddr != { 10.0.0.0/8, 192.168.0.0/16 } drop",
                "ip saddr . tcp dport { 10.0.0.1 . 80 } accept",
            ] {
                #expect(installed.contains(line), "missing: \(line)\n\(installed)")
            }
            // Read back and rendered as table blocks, nft -f builds the same ruleset again.
            let blocks = try handle.tables().map { try handle.contents(of: $0).nftText }.joined()
            try Support.nft(rendered, ["-f", "-"], input: blocks)
            #expect(try Support.nft(rendered, ["list", "ruleset"]) == installed)

            // The JSON view agrees on what exists.
            let json = try Support.nft(library, ["-j", "list", "ruleset"])
            #expect(json.contains("\"name\": \"dispatch\"") || json.contains("\"name\":\"dispatch\""))
        }
    }
}

extension NftablesKernelTests {
    /// The snippet at the top of Nftables.md, run as written (printing aside).
    @Test("the documentation's overview snippet runs", .privileged)
    func documentationSnippet() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let nft = try NftablesHandle(namespace: namespaces[0])

            let table = NftablesTable(family: .inet, name: "swiftcni_policy")
            let input = NftablesChain.base(table: table, name: "input", hook: .input, priority: 0, policy: .drop)
            let allowed = NftablesSet(table: table, name: "allowed", keyType: .ipv4Address, isInterval: true)

            var transaction = NftablesTransaction()
            transaction.add(table)
            transaction.add(input)
            transaction.add(allowed)
            transaction.add(elements: [NftablesSetElement(.network(try IPNetwork(parsing: "10.244.0.0/16")))], to: allowed)
            transaction.add(NftablesRule(in: input, matches: [.connectionState([.established, .related])], statements: [.accept]))
            transaction.add(NftablesRule(
                in: input,
                matches: [.field(.sourceAddress(.v4), inSet: "allowed"), .destinationPort(.tcp, 8080)],
                statements: [.counter, .accept], comment: "pods to web"))
            try nft.apply(transaction)

            let rules = try nft.rules(in: table)
            #expect(rules.map(\.description) == [
                "ct state established,related accept",
                "ip saddr @allowed tcp dport 8080 counter accept comment \"pods to web\"",
            ])
            #expect(rules.allSatisfy { $0.handle != nil })
        }
    }
}
