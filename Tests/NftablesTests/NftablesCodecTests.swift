import NetPrimitives
import Testing

@testable import Netlink
@testable import Nftables

/// Pure tests of the nftables codec: no kernel, no root.
@Suite("Nftables codec")
struct NftablesCodecTests {
    typealias Fixtures = NftablesFixtures

    @Test("every fixture rule compiles to kernel expressions and decodes back to itself")
    func compileDecodeRoundTrip() throws {
        let everywhere = [
            NftablesRule(in: Fixtures.input, matches: [.sourceAddress(Fixtures.network("0.0.0.0/0"))], statements: [.accept]),
            NftablesRule(in: Fixtures.input, matches: [.destinationAddress(Fixtures.network("::/0"), negated: true)], statements: [.drop]),
        ]
        for rule in Fixtures.inputRules + Fixtures.natRules + Fixtures.ipv6Rules + everywhere {
            var compiler = NftablesRuleCompiler(family: rule.table.family, operation: "test")
            let expressions: [(any KernelExpression)?] = try compiler.compile(rule)
            let anonymous = compiler.anonymousSets
            var decoder = NftablesRuleDecoder(family: rule.table.family)
            decoder.anonymousElements = { lookup in anonymous.first { $0.identifier == lookup.setIdentifier }?.elements }
            let decoded = decoder.decode(expressions, table: rule.table, chain: rule.chain)
            #expect(decoded.isFullyDecoded, "\(rule)")
            #expect(decoded.matches == rule.matches, "\(rule)")
            #expect(decoded.statements == rule.statements, "\(rule)")
        }
    }

    @Test("elements encode to kernel keys and decode back, intervals as start and end elements")
    func elementRoundTrip() throws {
        for (set, elements) in Fixtures.elements {
            let encoded = try NftablesElementCodec.encode(elements, in: set, operation: "test")
            let decoded = NftablesElementCodec.decode(encoded.reversed(), in: set)
            #expect(Set(decoded) == Set(elements), "\(set)")
        }
        let encoded = try NftablesElementCodec.encode(
            [NftablesSetElement(.network(Fixtures.network("10.0.0.0/8")))], in: Fixtures.allowed, operation: "test")
        #expect(encoded.map(\.key) == [[10, 0, 0, 0], [11, 0, 0, 0]])
        #expect(encoded.map(\.isIntervalEnd) == [false, true])
        // Adjacent intervals share a key (end of one, start of the next) and still decode apart.
        let adjacent = [
            NftablesSetElement(.network(Fixtures.network("11.0.0.0/30"))),
            NftablesSetElement(.network(Fixtures.network("11.0.0.4/30"))),
            NftablesSetElement(.network(Fixtures.network("11.0.0.8/30"))),
        ]
        let adjacentEncoded = try NftablesElementCodec.encode(adjacent, in: Fixtures.allowed, operation: "test")
        for order in [adjacentEncoded, adjacentEncoded.reversed(), adjacentEncoded.shuffled()] {
            #expect(NftablesElementCodec.decode(order, in: Fixtures.allowed) == adjacent)
        }
        // An interval running to the last value has no end element.
        let tail = try NftablesElementCodec.encode(
            [NftablesSetElement(.portRange(65000...65535))], in: Fixtures.portRanges, operation: "test")
        #expect(tail.count == 1)
        #expect(NftablesElementCodec.decode(tail, in: Fixtures.portRanges) == [NftablesSetElement(.portRange(65000...65535))])
    }

    @Test("a transaction renders as an nft -f script, one nft command per operation")
    func rendersNftScript() {
        var transaction = NftablesTransaction()
        transaction.add(Fixtures.filter)
        transaction.add(Fixtures.input)
        transaction.add(Fixtures.fromPods)
        transaction.add(Fixtures.allowed)
        transaction.add(Fixtures.dispatch)
        transaction.add(Fixtures.pairs)
        transaction.add(elements: Fixtures.elements[0].1, to: Fixtures.allowed)
        transaction.add(elements: [], to: Fixtures.allowed)
        transaction.add(Fixtures.inputRules[0])
        transaction.add(Fixtures.natRules[1])
        transaction.deleteRule(handle: 7, in: Fixtures.input)
        transaction.delete(elements: [NftablesSetElement(.interfaceName("eth0"), verdict: .drop)], from: Fixtures.dispatch)
        transaction.delete(Fixtures.filter)
        #expect(
            transaction.nftScript == """
                add table inet swcni_filter
                add chain inet swcni_filter input { type filter hook input priority 0; policy drop; }
                add chain inet swcni_filter from_pods
                add set inet swcni_filter allowed { type ipv4_addr; flags interval; }
                add map inet swcni_filter dispatch { type ifname : verdict; }
                add set inet swcni_filter pairs { type ipv4_addr . inet_service; }
                add element inet swcni_filter allowed { 10.0.0.0/8, 192.168.1.1, 192.168.2.10-192.168.2.20 }
                add rule inet swcni_filter input ip saddr 10.0.0.0/8 ip daddr 10.1.2.3 counter accept comment "pods to node"
                add rule ip swcni_nat4 postrouting ip saddr 10.0.0.0/8 meta l4proto tcp snat ip to 192.0.2.1:8080
                delete rule inet swcni_filter input handle 7
                delete element inet swcni_filter dispatch { "eth0" : drop }
                delete table inet swcni_filter

                """)
    }

    @Test("bad input is refused with a clear error before anything is sent")
    func refusesBadInput() throws {
        let ipv4Table = Fixtures.ipv4Nat
        func compile(_ rule: NftablesRule) throws(NetlinkError) {
            var compiler = NftablesRuleCompiler(family: rule.table.family, operation: "add rule")
            _ = try compiler.compile(rule)
        }
        let cases: [NftablesRule] = [
            NftablesRule(table: ipv4Table, chain: "c", matches: [.sourceAddress(Fixtures.network("fd00::/8"))], statements: [.drop]),
            NftablesRule(table: ipv4Table, chain: "c", matches: [.inputInterface("sixteen-bytes-xx")], statements: [.drop]),
            NftablesRule(table: ipv4Table, chain: "c", matches: [.destinationPort(.icmp, 1)], statements: [.drop]),
            NftablesRule(table: ipv4Table, chain: "c", statements: [.destinationNAT(Fixtures.address("fd00::1"))]),
            NftablesRule(table: ipv4Table, chain: "c", statements: [.jump("")]),
            NftablesRule(table: ipv4Table, chain: "c", matches: [.inSet([], set: "s")], statements: [.drop]),
            NftablesRule(table: ipv4Table, chain: "c", statements: [.log(prefix: "say \"hi\"")]),
            NftablesRule(table: ipv4Table, chain: "c", matches: [.field(.mark, in: [])], statements: [.drop]),
            NftablesRule(table: ipv4Table, chain: "c", matches: [.field(.destinationPort(.tcp), in: [.mark(1)])], statements: [.drop]),
        ]
        for rule in cases {
            #expect(throws: NetlinkError.self, "\(rule)") { try compile(rule) }
            do { try compile(rule) } catch { #expect(error.code == .invalidArgument) }
        }
        #expect(throws: NetlinkError.self) {
            _ = try NftablesElementCodec.encode(
                [NftablesSetElement(.network(Fixtures.network("10.0.0.0/8")))], in: Fixtures.hosts, operation: "x")
        }
        #expect(throws: NetlinkError.self) {
            _ = try NftablesElementCodec.encode([NftablesSetElement(.port(80))], in: Fixtures.hosts, operation: "x")
        }
    }

    @Test("concatenated set types are stored 6 bits per component")
    func concatenatedTypeNumbers() {
        let types: [NftablesDataType] = [.ipv4Address, .port]
        #expect(NftablesDataType.concatenatedNumber(types) == 7 << 6 | 13)
        #expect(NftablesDataType.split(concatenatedNumber: 7 << 6 | 13) == types)
        #expect(Fixtures.pairs.keyLength == 8)
        #expect(NftablesSet(table: Fixtures.filter, name: "x", keyType: [.interfaceName, .ipv6Address]).keyLength == 32)
    }

    @Test("names nft cannot parse are refused before sending")
    func refusesBadNames() {
        let bad = NftablesTable(family: .inet, name: "1table")
        let operations: [NftablesOperation] = [
            .addTable(bad),
            .addChain(NftablesChain(table: Fixtures.filter, name: "has space")),
            .addSet(NftablesSet(table: Fixtures.filter, name: "quote\"", keyType: .port)),
            .addRule(NftablesRule(in: Fixtures.input, statements: [.jump("")])),
            .addRule(NftablesRule(in: Fixtures.input, matches: [.field(.mark, inSet: "a b")], statements: [.drop])),
            .addElements(Fixtures.dispatch, [NftablesSetElement(.interfaceName("eth0"), verdict: .goto("x y"))]),
        ]
        for operation in operations {
            var encoder = NftablesBatchEncoder()
            #expect(throws: NetlinkError.self, "\(operation)") { try encoder.encode(operation, index: 0) }
        }
        #expect(NftablesNames.isValid("swiftcni_policy"))
        #expect(NftablesNames.isValid("from-pods.v4/x"))
        #expect(!NftablesNames.isValid(""))
    }

    @Test("a transaction is framed BATCH_BEGIN, its messages, BATCH_END; each message maps to its operation")
    func batchFraming() throws {
        var encoder = NftablesBatchEncoder()
        try encoder.encode(.addTable(Fixtures.filter), index: 0)
        try encoder.encode(.addChain(Fixtures.input), index: 1)
        encoder.finish()
        #expect(encoder.operationByMessage == [nil, 0, 1, nil])
        #expect(encoder.lastOperationMessage == 2)
        let messages = encoder.messages
        #expect(messages.count == 4)
        func type(_ index: Int) -> UInt16 {
            let start = messages.starts[index]
            return UInt16(messages.bytes[start + 4]) | UInt16(messages.bytes[start + 5]) << 8
        }
        // NFNL_MSG_BATCH_BEGIN/END are 0x10/0x11; NEWTABLE/NEWCHAIN are NFNL_SUBSYS_NFTABLES (10) << 8 | 0/3.
        #expect([type(0), type(1), type(2), type(3)] == [0x10, 0x0A00, 0x0A03, 0x11])
        // Every message starts on a 4-byte boundary.
        #expect(messages.starts.allSatisfy { $0 % 4 == 0 })
    }
}
