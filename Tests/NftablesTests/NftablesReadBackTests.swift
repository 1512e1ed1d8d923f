#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink
@testable import Nftables

/// Reading back what was installed, incremental set updates, deletes, and atomic failure.
@Suite("Nftables read back and atomicity", .serialized)
struct NftablesReadBackTests {
    typealias Fixtures = NftablesFixtures
    typealias Support = NftablesTestSupport

    @Test("tables, chains, sets, elements and rules read back as they were added", .privileged)
    func readsBackEverything() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try await NftablesHandle.open(in: namespaces[0])
            try handle.apply(Fixtures.everything)

            #expect(Set(try handle.tables()) == [Fixtures.filter, Fixtures.ipv4Nat, Fixtures.ipv6Table])
            #expect(
                Set(try handle.chains(in: Fixtures.filter))
                    == [Fixtures.input, Fixtures.forward, Fixtures.fromPods, Fixtures.fromHost])
            #expect(
                Set(try handle.chains(in: Fixtures.ipv4Nat)) == [Fixtures.postrouting, Fixtures.prerouting, Fixtures.ipv4Filter])
            #expect(
                Set(try handle.chains(in: Fixtures.ipv6Table)) == [Fixtures.ipv6Input, Fixtures.ipv6Route, Fixtures.ipv6Nat])
            #expect(Set(try handle.sets(in: Fixtures.filter)) == Set(Fixtures.elements.map(\.0)))
            for (set, elements) in Fixtures.elements {
                let read = try handle.elements(of: set)
                #expect(read.count == elements.count && Set(read) == Set(elements), "\(set)")
            }
            let written = Fixtures.inputRules + Fixtures.natRules + Fixtures.ipv6Rules
            for chain in Set(written.map { NftablesChain(table: $0.table, name: $0.chain) }) {
                let expected = written.filter { $0.table == chain.table && $0.chain == chain.name }
                let rules = try handle.rules(in: chain.table, chain: chain.name)
                #expect(rules.count == expected.count, "\(chain)")
                for (read, written) in zip(rules, expected) {
                    #expect(read.isFullyDecoded)
                    #expect(read.isEquivalent(to: written))
                    #expect(read.matches.count == written.matches.count)
                    #expect(read.statements == written.statements)
                    #expect(read.comment == written.comment)
                    #expect(read.handle != nil)
                }
            }
            // `nft -j list ruleset` reports the same objects and rule handles.
            let json = try Support.nft(namespaces[0], ["-j", "list", "ruleset"])
            let objects = try #require(
                (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["nftables"] as? [[String: Any]])
            func keys(_ kind: String, _ fields: [String]) -> Set<String> {
                Set(objects.compactMap { $0[kind] as? [String: Any] }.map { object in
                    fields.map { "\(object[$0] ?? "-")" }.joined(separator: " ")
                })
            }
            var libraryRules: Set<String> = []
            var librarySets: Set<String> = []
            var libraryChains: Set<String> = []
            for table in try handle.tables() {
                for rule in try handle.rules(in: table) {
                    libraryRules.insert("\(table.family) \(table.name) \(rule.chain) \(rule.handle!)")
                }
                for set in try handle.sets(in: table) { librarySets.insert("\(table.family) \(table.name) \(set.name)") }
                for chain in try handle.chains(in: table) {
                    libraryChains.insert("\(table.family) \(table.name) \(chain.name)")
                }
            }
            #expect(keys("rule", ["family", "table", "chain", "handle"]) == libraryRules)
            #expect(keys("set", ["family", "table", "name"]).union(keys("map", ["family", "table", "name"])) == librarySets)
            #expect(keys("chain", ["family", "table", "name"]) == libraryChains)
            #expect(keys("table", ["family", "name"]) == Set(try handle.tables().map { "\($0.family) \($0.name)" }))

            // Handles are the kernel's: `nft -a` shows the same ones.
            let annotated = try Support.nft(namespaces[0], ["-a", "list", "chain", "inet", "swcni_filter", "input"])
            for rule in try handle.rules(in: Fixtures.filter, chain: "input") {
                #expect(annotated.contains("# handle \(rule.handle!)\n"))
            }
        }
    }

    @Test("set elements change without touching rules; delete rule by handle; flush chain; delete table", .privileged)
    func incrementalChanges() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let namespace = namespaces[0]
            let handle = try NftablesHandle(namespace: namespace)
            try handle.apply(Fixtures.everything)
            let before = try handle.rules(in: Fixtures.filter)

            var update = NftablesTransaction()
            update.add(
                elements: [NftablesSetElement(.address(Fixtures.address("10.1.1.3")))], to: Fixtures.hosts)
            update.delete(
                elements: [NftablesSetElement(.address(Fixtures.address("10.1.1.1")))], from: Fixtures.hosts)
            update.add(elements: [NftablesSetElement(.network(Fixtures.network("100.64.0.0/10")))], to: Fixtures.allowed)
            update.delete(elements: [NftablesSetElement(.network(Fixtures.network("10.0.0.0/8")))], from: Fixtures.allowed)
            update.add(
                elements: [NftablesSetElement(.interfaceName("veth9"), verdict: .drop)], to: Fixtures.dispatch)
            try handle.apply(update)
            #expect(
                Set(try handle.elements(of: Fixtures.hosts))
                    == [NftablesSetElement(.address(Fixtures.address("10.1.1.2"))),
                        NftablesSetElement(.address(Fixtures.address("10.1.1.3")))])
            #expect(
                Set(try handle.elements(of: Fixtures.allowed))
                    == [NftablesSetElement(.network(Fixtures.network("100.64.0.0/10"))),
                        NftablesSetElement(.address(Fixtures.address("192.168.1.1"))),
                        NftablesSetElement(.addressRange(Fixtures.address("192.168.2.10"), Fixtures.address("192.168.2.20")))])
            // An interval adjacent to an existing one, in a later batch, stays a separate element.
            var adjacent = NftablesTransaction()
            adjacent.add(elements: [NftablesSetElement(.network(Fixtures.network("100.128.0.0/10")))], to: Fixtures.allowed)
            try handle.apply(adjacent)
            #expect(
                Set(try handle.elements(of: Fixtures.allowed)).isSuperset(of: [
                    NftablesSetElement(.network(Fixtures.network("100.64.0.0/10"))),
                    NftablesSetElement(.network(Fixtures.network("100.128.0.0/10"))),
                ]))
            var removeAdjacent = NftablesTransaction()
            removeAdjacent.delete(elements: [NftablesSetElement(.network(Fixtures.network("100.128.0.0/10")))], from: Fixtures.allowed)
            try handle.apply(removeAdjacent)
            #expect(try handle.elements(of: Fixtures.dispatch).contains(NftablesSetElement(.interfaceName("veth9"), verdict: .drop)))
            #expect(try handle.rules(in: Fixtures.filter).map(\.handle) == before.map(\.handle))
            let listed = try Support.nft(namespace, ["list", "set", "inet", "swcni_filter", "hosts"])
            #expect(listed.contains("elements = { 10.1.1.2, 10.1.1.3 }"))

            // Delete one rule by its handle (nft delete rule ... handle N).
            let victim = before[1]
            var deletion = NftablesTransaction()
            deletion.deleteRule(handle: victim.handle!, in: Fixtures.input)
            try handle.apply(deletion)
            let after = try handle.rules(in: Fixtures.filter, chain: "input")
            #expect(after.map(\.handle) == before.filter { $0.chain == "input" && $0.handle != victim.handle }.map(\.handle))
            #expect(!(try Support.nft(namespace, ["list", "ruleset"])).contains("ip saddr != 172.16.0.0/12 drop"))

            // Insert places a rule first (nft insert rule).
            var insertion = NftablesTransaction()
            let first = NftablesRule(
                in: Fixtures.input, matches: [.inputInterface("lo"), .sourceAddress(Fixtures.network("0.0.0.0/0"))],
                statements: [.accept], comment: "first")
            insertion.insert(first)
            try handle.apply(insertion)
            let inserted = try handle.rules(in: Fixtures.filter, chain: "input")
            #expect(inserted.first?.isEquivalent(to: first) == true)
            #expect(inserted.count == after.count + 1)

            // Replace a whole table atomically: delete and rebuild it in one batch.
            var rebuild = NftablesTransaction()
            rebuild.delete(Fixtures.ipv6Table)
            rebuild.add(Fixtures.ipv6Table)
            rebuild.add(Fixtures.ipv6Input)
            rebuild.add(NftablesRule(in: Fixtures.ipv6Input, matches: [.destinationPort(.udp, 546)], statements: [.accept]))
            try handle.apply(rebuild)
            #expect(try handle.rules(in: Fixtures.ipv6Table).map(\.description) == ["udp dport 546 accept"])
            #expect(try handle.chains(in: Fixtures.ipv6Table) == [Fixtures.ipv6Input])

            // Flush a chain, then delete whole tables with everything in them.
            var flush = NftablesTransaction()
            flush.flush(Fixtures.input)
            try handle.apply(flush)
            #expect(try handle.rules(in: Fixtures.filter, chain: "input").isEmpty)
            var teardown = NftablesTransaction()
            teardown.delete(Fixtures.filter)
            teardown.deleteIfPresent(Fixtures.ipv4Nat)
            teardown.deleteIfPresent(NftablesTable(family: .inet, name: "never_created"))
            try handle.apply(teardown)
            #expect(try handle.tables() == [Fixtures.ipv6Table])
            #expect(try Support.nft(namespace, ["list", "tables"]) == "table ip6 swcni_six\n")
        }
    }

    @Test("a batch whose last rule is invalid changes nothing and names that rule", .privileged)
    func failedBatchIsAtomic() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let namespace = namespaces[0]
            let handle = try NftablesHandle(namespace: namespace)
            var transaction = Fixtures.everything
            let invalid = NftablesRule(in: Fixtures.input, matches: [.destinationPort(.tcp, 9)], statements: [.jump("nonexistent")])
            transaction.add(invalid)
            let count = transaction.operations.count
            let error = try #require(throws: NetlinkError.self) { try handle.apply(transaction) }
            #expect(error.code == .batchFailed)
            #expect(error.errno == ENOENT)
            #expect(error.operation == "add rule inet swcni_filter input tcp dport 9 jump nonexistent (operation \(count) of \(count))")
            #expect(try handle.tables().isEmpty)
            #expect(try Support.nft(namespace, ["list", "ruleset"]).isEmpty)

            // A failure in the middle is reported for that operation, with the kernel's text when sent.
            var middle = NftablesTransaction()
            middle.add(Fixtures.filter)
            middle.add(NftablesChain.base(table: Fixtures.filter, name: "bad", type: .nat, hook: .forward))
            middle.add(Fixtures.input)
            let second = try #require(throws: NetlinkError.self) { try handle.apply(middle) }
            #expect(second.operation.hasPrefix("add chain inet swcni_filter bad"))
            #expect(second.operation.hasSuffix("(operation 2 of 3)"))
            #expect(second.errno != nil)
            #expect(try handle.tables().isEmpty)

            // The kernel's extended-ACK text reaches the error.
            var tooLong = NftablesTransaction()
            tooLong.add(NftablesTable(name: String(repeating: "x", count: 300)))
            let third = try #require(throws: NetlinkError.self) { try handle.apply(tooLong) }
            #expect(third.kernelMessage == "Attribute failed policy validation")
            #expect(third.errno == ERANGE)

            // The handle still works after failures.
            try handle.apply(Fixtures.everything)
            #expect(try handle.tables().count == 3)
        }
    }

    @Test("one handle used from 200 concurrent tasks; pool threads stay in their namespace", .privileged)
    func concurrentUse() async throws {
        let original = NetworkNamespace.currentInode()
        try await NamespaceFixture.with(count: 2) { namespaces in
            let handles = try namespaces.map { try NftablesHandle(namespace: $0) }
            for handle in handles {
                var setup = NftablesTransaction()
                setup.add(Fixtures.filter)
                setup.add(Fixtures.hosts)
                try handle.apply(setup)
            }
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let before = NetworkNamespace.currentInode()
                        let handle = handles[index % 2]
                        var transaction = NftablesTransaction()
                        let address = IPAddress.v4(IPv4Address(10, 2, UInt8(index / 256), UInt8(index % 256)))
                        transaction.add(elements: [NftablesSetElement(.address(address))], to: Fixtures.hosts)
                        try handle.apply(transaction)
                        _ = try handle.tables()
                        return before == NetworkNamespace.currentInode() && before == original
                    }
                }
                for try await unchanged in group { #expect(unchanged) }
            }
            #expect(try handles[0].elements(of: Fixtures.hosts).count == 100)
            #expect(try handles[1].elements(of: Fixtures.hosts).count == 100)
        }
        #expect(NetworkNamespace.currentInode() == original)
    }

    @Test("a table's contents are replaced atomically and read back whole", .privileged)
    func replacesTableContents() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let handle = try NftablesHandle(namespace: namespaces[0])
            let table = Fixtures.filter
            var desired = NftablesTableContents(
                table: table, chains: [Fixtures.input, Fixtures.fromPods, Fixtures.fromHost],
                sets: [Fixtures.allowed, Fixtures.dispatch], rules: Fixtures.inputRules.filter {
                    $0.matches.allSatisfy { match in
                        if case .inSet(_, let set, _) = match { return set == "allowed" }
                        return true
                    }
                } + [NftablesRule(in: Fixtures.fromPods, statements: [.accept])])
            desired.elements = Dictionary(uniqueKeysWithValues: Fixtures.elements.filter { [Fixtures.allowed, Fixtures.dispatch].contains($0.0) }.map { ($0.0.name, $0.1) })

            for round in 0..<2 {
                var transaction = NftablesTransaction()
                transaction.replace(with: desired)
                try handle.apply(transaction)
                let installed = try handle.contents(of: table)
                #expect(installed.isEquivalent(to: desired), "round \(round)")
                // The same replacement through nft -f gives the same ruleset.
                try Support.nft(namespaces[1], ["-f", "-"], input: transaction.nftScript)
                #expect(
                    try Support.nft(namespaces[1], ["list", "ruleset"]) == Support.nft(namespaces[0], ["list", "ruleset"]))
                desired.rules.removeLast(3)
                desired.elements["allowed"]?.removeFirst()
            }
            #expect(!(try handle.contents(of: table)).isEquivalent(to: desired))

            // The table-block rendering, fed to nft -f in a clean namespace, builds the same ruleset.
            let installed = try handle.contents(of: table)
            try Support.nft(namespaces[1], ["flush", "ruleset"])
            try Support.nft(namespaces[1], ["-f", "-"], input: installed.nftText)
            #expect(try Support.nft(namespaces[1], ["list", "ruleset"]) == Support.nft(namespaces[0], ["list", "ruleset"]))
        }
    }
}
