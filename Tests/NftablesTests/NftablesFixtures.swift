import NetPrimitives

@testable import Netlink
@testable import Nftables

/// A rule set that uses every construct the library offers, in all three families.
enum NftablesFixtures {
    static let filter = NftablesTable(family: .inet, name: "swcni_filter")
    static let ipv4Nat = NftablesTable(family: .ipv4, name: "swcni_nat4")
    static let ipv6Table = NftablesTable(family: .ipv6, name: "swcni_six")

    static let input = NftablesChain.base(table: filter, name: "input", hook: .input, priority: 0, policy: .drop)
    static let forward = NftablesChain.base(table: filter, name: "forward", hook: .forward, priority: -5)
    static let fromPods = NftablesChain(table: filter, name: "from_pods")
    static let fromHost = NftablesChain(table: filter, name: "from_host")
    static let postrouting = NftablesChain.base(
        table: ipv4Nat, name: "postrouting", type: .nat, hook: .postrouting, priority: 100)
    static let prerouting = NftablesChain.base(
        table: ipv4Nat, name: "prerouting", type: .nat, hook: .prerouting, priority: -100)
    static let ipv6Input = NftablesChain.base(table: ipv6Table, name: "input", type: .filter, hook: .input)
    static let ipv6Nat = NftablesChain.base(table: ipv6Table, name: "nat", type: .nat, hook: .postrouting, priority: 100)
    static let ipv4Filter = NftablesChain.base(table: ipv4Nat, name: "filter", hook: .forward, policy: .drop)
    static let ipv6Route = NftablesChain.base(table: ipv6Table, name: "mangle", type: .route, hook: .output, priority: -150)

    static let allowed = NftablesSet(table: filter, name: "allowed", keyType: .ipv4Address, isInterval: true)
    static let allowed6 = NftablesSet(table: filter, name: "allowed6", keyType: .ipv6Address, isInterval: true)
    static let hosts = NftablesSet(table: filter, name: "hosts", keyType: .ipv4Address)
    static let ports = NftablesSet(table: filter, name: "ports", keyType: .port)
    static let portRanges = NftablesSet(table: filter, name: "port_ranges", keyType: .port, isInterval: true)
    static let interfaces = NftablesSet(table: filter, name: "trusted_if", keyType: .interfaceName)
    static let pairs = NftablesSet(table: filter, name: "pairs", keyType: [.ipv4Address, .port])
    static let interfaceAddresses = NftablesSet(
        table: filter, name: "if_addr", keyType: [.interfaceName, .ipv4Address])
    static let rangePairs = NftablesSet(
        table: filter, name: "range_pairs", keyType: [.ipv4Address, .port], isInterval: true)
    static let dispatch = NftablesSet(table: filter, name: "dispatch", keyType: [.interfaceName], mapData: .verdict)
    static let translations = NftablesSet(
        table: filter, name: "translations", keyType: [.ipv4Address], mapData: .value(.ipv4Address))

    static func network(_ text: String) -> IPNetwork { try! IPNetwork(parsing: text) }
    static func address(_ text: String) -> IPAddress { try! IPAddress(parsing: text) }

    static let inputRules: [NftablesRule] = [
        NftablesRule(
            in: input, matches: [.sourceAddress(network("10.0.0.0/8")), .destinationAddress(network("10.1.2.3/32"))],
            statements: [.counter, .accept], comment: "pods to node"),
        NftablesRule(in: input, matches: [.sourceAddress(network("172.16.0.0/12"), negated: true)], statements: [.drop]),
        NftablesRule(in: input, matches: [.sourceAddress(network("fd00::/64"))], statements: [.accept]),
        NftablesRule(in: input, matches: [.destinationAddress(network("fd00:1::/62"))], statements: [.drop]),
        NftablesRule(in: input, matches: [.field(.sourceAddress(.v4), inSet: "allowed")], statements: [.accept]),
        NftablesRule(in: input, matches: [.field(.sourceAddress(.v6), inSet: "allowed6")], statements: [.accept]),
        NftablesRule(
            in: input, matches: [.field(.destinationAddress(.v4), inSet: "hosts", negated: true)],
            statements: [.drop]),
        NftablesRule(in: input, matches: [.l4Protocol(.udp)], statements: [.counter]),
        NftablesRule(in: input, matches: [.destinationPort(.tcp, 22)], statements: [.accept]),
        NftablesRule(in: input, matches: [.destinationPort(.tcp, 1000...2000)], statements: [.reject]),
        NftablesRule(in: input, matches: [.destinationPort(.tcp, 25)], statements: [.rejectWithTCPReset]),
        NftablesRule(in: input, matches: [.sourcePort(.udp, 53)], statements: [.log(prefix: "dns "), .accept]),
        NftablesRule(in: input, matches: [.destinationPort(.udp, 5000...6000, negated: true)], statements: [.log(prefix: nil), .drop]),
        NftablesRule(in: input, matches: [.field(.destinationPort(.tcp), inSet: "ports")], statements: [.goto("from_pods")]),
        NftablesRule(in: input, matches: [.field(.sourcePort(.udp), inSet: "port_ranges")], statements: [.jump("from_host")]),
        NftablesRule(
            in: input, matches: [.inputInterface("veth0"), .outputInterface("eth1", negated: true)],
            statements: [.return]),
        NftablesRule(in: input, matches: [.field(.inputInterfaceName, inSet: "trusted_if")], statements: [.accept]),
        NftablesRule(in: input, matches: [.connectionState([.established, .related])], statements: [.accept]),
        NftablesRule(in: input, matches: [.connectionState(.invalid)], statements: [.drop]),
        NftablesRule(in: input, matches: [.mark(0x10)], statements: [.drop]),
        NftablesRule(in: input, matches: [.destinationAddressType(.local)], statements: [.counter, .accept]),
        NftablesRule(in: input, statements: [.verdictMap([.inputInterfaceName], map: "dispatch")]),
        NftablesRule(
            in: input, matches: [.inSet([.sourceAddress(.v4), .destinationPort(.tcp)], set: "pairs")],
            statements: [.accept], comment: "concatenation"),
        NftablesRule(
            in: input, matches: [.inSet([.inputInterfaceName, .sourceAddress(.v4)], set: "if_addr", negated: true)],
            statements: [.drop]),
        NftablesRule(
            in: input, matches: [.inSet([.sourceAddress(.v4), .destinationPort(.tcp)], set: "range_pairs")],
            statements: [.accept]),
        NftablesRule(in: input, matches: [.field(.destinationPort(.tcp), in: [.port(22), .port(80)])], statements: [.accept]),
        NftablesRule(
            in: input,
            matches: [.field(.sourceAddress(.v4), in: [.network(network("10.0.0.0/8")), .network(network("192.168.0.0/16"))], negated: true)],
            statements: [.drop]),
        NftablesRule(
            in: input,
            matches: [.inValues([.sourceAddress(.v4), .destinationPort(.tcp)], [NftablesSetElement(concatenation: [.address(address("10.0.0.1")), .port(80)])])],
            statements: [.accept]),
        NftablesRule(
            in: input, matches: [.field(.inputInterfaceName, in: [.interfaceName("eth0"), .interfaceName("eth1")])],
            statements: [.accept], comment: "inline interfaces"),
    ]

    static let natRules: [NftablesRule] = [
        NftablesRule(in: postrouting, matches: [.sourceAddress(network("10.244.0.0/16")), .destinationAddress(network("10.244.0.0/16"), negated: true)], statements: [.masquerade]),
        NftablesRule(
            in: postrouting, matches: [.sourceAddress(network("10.0.0.0/8")), .l4Protocol(.tcp)],
            statements: [.sourceNAT(address("192.0.2.1"), port: 8080)]),
        NftablesRule(in: postrouting, matches: [.outputInterface("eth0")], statements: [.sourceNAT(address("192.0.2.2"))]),
        NftablesRule(in: postrouting, matches: [.outputInterface("cni0", negated: true)], statements: [.counter, .masqueradeFullyRandom]),
        NftablesRule(in: prerouting, matches: [.destinationAddress(network("198.51.100.1/32"))], statements: [.destinationNAT(address("10.0.0.1"))]),
        NftablesRule(in: ipv4Filter, matches: [.sourceAddress(network("10.0.0.0/9")), .destinationPort(.udp, 53)], statements: [.reject]),
        NftablesRule(in: ipv4Filter, matches: [.connectionState(.new), .l4Protocol(.icmp)], statements: [.log(prefix: "new icmp "), .accept]),
        NftablesRule(
            in: prerouting, matches: [.destinationPort(.tcp, 80)],
            statements: [.destinationNAT(address("10.0.0.2"), port: 8080)]),
    ]

    static let ipv6Rules: [NftablesRule] = [
        NftablesRule(in: ipv6Input, matches: [.sourceAddress(network("2001:db8::/32")), .destinationPort(.tcp, 443)], statements: [.counter, .reject]),
        NftablesRule(in: ipv6Route, matches: [.mark(7)], statements: [.accept]),
        NftablesRule(
            in: ipv6Nat, matches: [.sourceAddress(network("fd00::/64")), .l4Protocol(.udp)],
            statements: [.sourceNAT(address("2001:db8::1"), port: 5353)]),
        NftablesRule(in: ipv6Nat, matches: [.outputInterface("eth0")], statements: [.masquerade]),
    ]

    static let elements: [(NftablesSet, [NftablesSetElement])] = [
        (allowed, [NftablesSetElement(.network(network("10.0.0.0/8"))), NftablesSetElement(.address(address("192.168.1.1"))),
                   NftablesSetElement(.addressRange(address("192.168.2.10"), address("192.168.2.20")))]),
        (allowed6, [NftablesSetElement(.network(network("fd00::/48")))]),
        (hosts, [NftablesSetElement(.address(address("10.1.1.1"))), NftablesSetElement(.address(address("10.1.1.2")))]),
        (ports, [NftablesSetElement(.port(80)), NftablesSetElement(.port(443))]),
        (portRanges, [NftablesSetElement(.portRange(1000...1999)), NftablesSetElement(.port(53))]),
        (interfaces, [NftablesSetElement(.interfaceName("eth0")), NftablesSetElement(.interfaceName("cni0"))]),
        (pairs, [NftablesSetElement(concatenation: [.address(address("10.0.0.5")), .port(80)])]),
        (interfaceAddresses, [NftablesSetElement(concatenation: [.interfaceName("eth0"), .address(address("10.0.0.7"))])]),
        (rangePairs, [NftablesSetElement(concatenation: [.network(network("10.244.0.0/16")), .portRange(8000...8080)]),
                      NftablesSetElement(concatenation: [.address(address("10.0.0.9")), .port(53)])]),
        (dispatch, [NftablesSetElement(.interfaceName("veth1"), verdict: .jump("from_pods")),
                    NftablesSetElement(.interfaceName("eth0"), verdict: .goto("from_host")),
                    NftablesSetElement(.interfaceName("lo"), verdict: .accept)]),
        (translations, [NftablesSetElement(.address(address("10.0.0.1")), data: .value(.address(address("192.0.2.10"))))]),
    ]

    /// Everything, in one transaction.
    static var everything: NftablesTransaction {
        var transaction = NftablesTransaction()
        for table in [filter, ipv4Nat, ipv6Table] { transaction.add(table) }
        for chain in [input, forward, fromPods, fromHost, postrouting, prerouting, ipv4Filter, ipv6Input, ipv6Route, ipv6Nat] {
            transaction.add(chain)
        }
        for (set, elements) in elements {
            transaction.add(set)
            transaction.add(elements: elements, to: set)
        }
        transaction.add(NftablesRule(in: fromPods, statements: [.counter, .accept]))
        transaction.add(NftablesRule(in: fromHost, statements: [.return]))
        transaction.add(NftablesRule(in: forward, matches: [.inputInterface("cni0")], statements: [.accept]))
        for rule in inputRules + natRules + ipv6Rules { transaction.add(rule) }
        return transaction
    }
}
