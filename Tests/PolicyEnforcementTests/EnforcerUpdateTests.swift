#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import Netlink
import Nftables
import NetPrimitives
import Synchronization
import TestSupport
import Testing
@testable import Policy
@testable import PolicyEnforcement

/// Updates under traffic: a long-lived allowed TCP connection keeps exchanging data and a
/// denied pair keeps trying to connect while policies change, and across an enforcer restart.
@Suite("Policy enforcer updates", .serialized)
struct EnforcerUpdateTests {
    typealias Fixture = EnforcerTrafficTests

    /// Every variant allows x/b -> x/a TCP 80 and denies z/d -> x/a (TCP 80, UDP 80).
    static let variants: [String] = [
        Fixture.policy("deny-all", "  podSelector: {}") + Fixture.policy("web", """
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]
            """),
        Fixture.policy("web", """
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [x, y]}]}}],
                         ports: [{port: 80}, {port: 81}]}]
            """),
        Fixture.policy("web", """
              podSelector: {matchLabels: {app: web}}
              ingress: [{from: [{ipBlock: {cidr: 10.66.0.12/31}}], ports: [{port: web}, {port: dns, protocol: UDP}]}]
            """),
        """
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: no-z}
        spec:
          order: 10
          selector: "projectcalico.org/namespace == 'x'"
          ingress:
          - {action: Log, source: {namespaceSelector: "team == 'z'"}}
          - {action: Deny, source: {namespaceSelector: "team == 'z'"}}
        ---

        """ + Fixture.policy("web", "  podSelector: {matchLabels: {app: web}}\n  ingress: [{}]"),
    ]

    /// Counts of what the probe loop saw.
    final class ProbeCounters: Sendable {
        let stop = Atomic<Bool>(false)
        let rounds = Atomic<Int>(0)
        let brokenExchanges = Atomic<Int>(0)
        let deniedPassed = Atomic<Int>(0)
        /// The update step in progress (for reports), and what the loop saw pass (transport * 1000 + step).
        let step = Atomic<Int>(0)
        let firstPass = Atomic<Int>(-1)
    }

    /// Runs in z/d's namespace until stopped: an echo on `connection` (x/b -> x/a, must never
    /// fail) and a TCP connect plus a UDP echo to x/a port 80 (must never succeed).
    /// Returns once the loop has run a few rounds (so it really runs during what follows).
    static func probeLoop(_ network: PodNetwork, connection: Int32, counters: ProbeCounters) async throws -> Task<Void, any Error> {
        let denied = network.pods[3]
        let task = Task.detached {
            try await denied.run {
                var round = 0
                while !counters.stop.load(ordering: .sequentiallyConsistent) {
                    round += 1
                    if !Sockets.exchange(connection, "round \(round);", timeoutMilliseconds: 3000) {
                        counters.brokenExchanges.add(1, ordering: .sequentiallyConsistent)
                    }
                    for transport in [TransportProtocol.tcp, .udp] {
                        let fd = Sockets.start(transport, to: PodNetwork.address(0), port: 80)
                        if Sockets.succeeded(fd, transport, timeoutMilliseconds: 5) {
                            counters.deniedPassed.add(1, ordering: .sequentiallyConsistent)
                            _ = counters.firstPass.compareExchange(
                                expected: -1, desired: Int(transport.number) * 1000 + counters.step.load(ordering: .sequentiallyConsistent),
                                ordering: .sequentiallyConsistent)
                        }
                        close(fd)
                    }
                    counters.rounds.add(1, ordering: .sequentiallyConsistent)
                }
            }
        }
        for _ in 0..<500 where counters.rounds.load(ordering: .sequentiallyConsistent) < 3 {
            try await Task.sleep(for: .milliseconds(10))
        }
        return task
    }

    @Test("100 policy updates under traffic: no denied flow passes, the allowed connection never breaks", .privileged)
    func updatesUnderTraffic() async throws {
        let sets = try Self.variants.map { try PolicySet(parsing: $0) }
        let cluster = try Fixture.cluster()
        let endpoints = Fixture.endpoints()
        for policies in sets {
            let evaluator = PolicyEvaluator(policies: policies, cluster: cluster)
            #expect(try evaluator.isAllowed(Packet(from: .endpoint(endpoints[1].id), to: .endpoint(endpoints[0].id), port: 80)))
            for transport in [TransportProtocol.tcp, .udp] {
                #expect(try !evaluator.isAllowed(
                    Packet(from: .endpoint(endpoints[3].id), to: .endpoint(endpoints[0].id), protocol: transport, port: 80)))
            }
        }
        try await Fixture.withNetwork { network, handle in
            let enforcer = PolicyEnforcer(handle: handle, policies: sets[0], cluster: cluster, node: "n1")
            try enforcer.reconcile()
            let connection = try #require(try Sockets.connect(from: network.pods[1], to: PodNetwork.address(0), port: 80))
            defer { close(connection) }
            #expect(Sockets.exchange(connection, "hello", timeoutMilliseconds: 1000))
            let counters = ProbeCounters()
            let loop = try await Self.probeLoop(network, connection: connection, counters: counters)
            var kinds: [PolicyEnforcer.UpdateKind: Int] = [:]
            var yc = endpoints[2]
            for step in 1...100 {
                counters.step.store(step, ordering: .sequentiallyConsistent)
                kinds[try enforcer.update(policies: sets[step % sets.count]).kind, default: 0] += 1
                if step % 5 == 0 {
                    // y/c leaves and rejoins team y: an element change under variant 1.
                    yc.namespaceLabels["team"] = yc.namespaceLabels["team"] == "y" ? "w" : "y"
                    kinds[try enforcer.upsert(yc).kind, default: 0] += 1
                }
                usleep(8000)
            }
            counters.stop.store(true, ordering: .sequentiallyConsistent)
            try await loop.value
            let rounds = counters.rounds.load(ordering: .sequentiallyConsistent)
            #expect(rounds >= 10, "the probe loop ran only \(rounds) rounds")
            #expect(counters.brokenExchanges.load(ordering: .sequentiallyConsistent) == 0)
            #expect(counters.deniedPassed.load(ordering: .sequentiallyConsistent) == 0,
                    "first denied probe that passed: protocol*1000+step = \(counters.firstPass.load(ordering: .sequentiallyConsistent))")
            #expect(kinds[.rewritten, default: 0] + kinds[.replaced, default: 0] >= 100)
            #expect(kinds[.replaced, default: 0] == 0, "in-place rewrites were refused")
            #expect(kinds[.elements, default: 0] >= 1)
            #expect(Sockets.exchange(connection, "still there", timeoutMilliseconds: 1000))
            #expect(try enforcer.desiredContents().isEquivalent(to: handle.contents(of: enforcer.lowering.table)))
        }
    }

    @Test("a restarted enforcer adopts its table untouched, repairs drift, and leaves other tables alone", .privileged)
    func restartReconciliation() async throws {
        let policies = try PolicySet(parsing: Self.variants[3])
        let cluster = try Fixture.cluster()
        try await Fixture.withNetwork { network, handle in
            let first = PolicyEnforcer(handle: handle, policies: policies, cluster: cluster, node: "n1")
            #expect(try first.reconcile())
            let other = NftablesTable(family: .inet, name: "someone_else")
            var foreign = NftablesTransaction()
            foreign.add(other)
            foreign.add(NftablesChain(table: other, name: "keep"))
            try handle.apply(foreign)

            let connection = try #require(try Sockets.connect(from: network.pods[1], to: PodNetwork.address(0), port: 80))
            defer { close(connection) }
            let counters = ProbeCounters()
            let loop = try await Self.probeLoop(network, connection: connection, counters: counters)
            usleep(100_000)

            // "Restart": a new handle and enforcer with the same state adopt the table as is.
            let secondHandle = try await NftablesHandle.open(in: network.node)
            let second = PolicyEnforcer(handle: secondHandle, policies: policies, cluster: cluster, node: "n1")
            let before = try secondHandle.contents(of: second.lowering.table)
            #expect(try !second.reconcile(), "an intact table must be adopted without writing")
            #expect(try secondHandle.contents(of: second.lowering.table).rules.map(\.handle) == before.rules.map(\.handle))

            // Drift (a rule deleted behind its back) is repaired in one transaction.
            let victim = try #require(before.rules.first { $0.comment == "from own node" })
            var drift = NftablesTransaction()
            drift.deleteRule(handle: try #require(victim.handle), in: NftablesChain(table: victim.table, name: victim.chain))
            try secondHandle.apply(drift)
            #expect(try second.reconcile())
            #expect(try second.desiredContents().isEquivalent(to: secondHandle.contents(of: second.lowering.table)))
            #expect(try secondHandle.exists(other))
            #expect(try secondHandle.chains(in: other).map(\.name) == ["keep"])
            usleep(100_000)

            counters.stop.store(true, ordering: .sequentiallyConsistent)
            try await loop.value
            #expect(counters.rounds.load(ordering: .sequentiallyConsistent) >= 5)
            #expect(counters.brokenExchanges.load(ordering: .sequentiallyConsistent) == 0)
            #expect(counters.deniedPassed.load(ordering: .sequentiallyConsistent) == 0,
                    "first denied probe that passed: protocol*1000+step = \(counters.firstPass.load(ordering: .sequentiallyConsistent))")
        }
    }

    /// Regression: whole-table replacements recreate interval sets, and on this kernel a
    /// freshly committed interval set can miss lookups for a moment, letting a Deny by nets
    /// fail open. In-place updates leave the set alone.
    @Test("a Calico Deny by nets (an interval set) holds through 300 policy updates under traffic", .privileged)
    func intervalSetDenyHoldsThroughUpdates() async throws {
        let base = """
            apiVersion: projectcalico.org/v3
            kind: GlobalNetworkPolicy
            metadata: {name: no-net}
            spec:
              order: 10
              selector: "projectcalico.org/namespace == 'x'"
              ingress:
              - {action: Deny, source: {nets: [10.66.0.14/32, 10.66.1.0/24]}}
            ---

            """
        let sets = try [
            PolicySet(parsing: base + Fixture.policy("web", "  podSelector: {matchLabels: {app: web}}\n  ingress: [{}]")),
            PolicySet(parsing: base + Fixture.policy("web2", "  podSelector: {matchLabels: {app: web}}\n  ingress: [{}]")),
        ]
        try await Fixture.withNetwork { network, handle in
            let enforcer = PolicyEnforcer(handle: handle, policies: sets[0], cluster: try Fixture.cluster(), node: "n1")
            try enforcer.reconcile()
            let connection = try #require(try Sockets.connect(from: network.pods[1], to: PodNetwork.address(0), port: 80))
            defer { close(connection) }
            let counters = ProbeCounters()
            let loop = try await Self.probeLoop(network, connection: connection, counters: counters)
            for step in 1...300 {
                counters.step.store(step, ordering: .sequentiallyConsistent)
                #expect(try enforcer.update(policies: sets[step % 2]).kind == .rewritten)
                usleep(1000)
            }
            counters.stop.store(true, ordering: .sequentiallyConsistent)
            try await loop.value
            #expect(counters.rounds.load(ordering: .sequentiallyConsistent) >= 10)
            #expect(counters.brokenExchanges.load(ordering: .sequentiallyConsistent) == 0)
            #expect(counters.deniedPassed.load(ordering: .sequentiallyConsistent) == 0,
                    "first denied probe that passed: protocol*1000+step = \(counters.firstPass.load(ordering: .sequentiallyConsistent))")
        }
    }
}
