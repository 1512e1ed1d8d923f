import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

/// Initialisation by quorum and reclaims (rmpeer) by consensus.
@Suite struct RingConsensusTests {
    /// `count` fresh peers with initial peer count `initial`.
    static func network(peers count: Int, initial: Int, seed: UInt64) throws -> RingNetwork {
        var network = RingNetwork(seed: seed)
        for index in 0..<count {
            network.nodes[ringPeer(index)] = try RingNode(me: ringPeer(index), range: "10.32.0.0/20", initialPeerCount: initial)
        }
        return network
    }

    /// Drains, retries and drains again until `done` holds (bounded).
    static func settle(_ network: inout RingNetwork, rounds: Int = 40, until done: (RingNetwork) -> Bool) throws -> Bool {
        for _ in 0..<rounds {
            try network.drain()
            if done(network) { return true }
            try network.retryAll()
        }
        try network.drain()
        return done(network)
    }

    @Test func minorityPartitionCannotInitialiseOrAllocateMajorityCan() throws {
        let seed = ringSeed("ring minority")
        var network = try Self.network(peers: 5, initial: 5, seed: seed)
        for index in 0..<5 { network.groups[ringPeer(index)] = index < 2 ? 0 : 1 }
        let minority = [ringPeer(0), ringPeer(1)], majority = [ringPeer(2), ringPeer(3), ringPeer(4)]
        for peer in minority {
            #expect(try network.nodes[peer]!.allocate(containerID: "m-\(peer.name)") == .needsInitialisation)
            try network.act(peer) { try $0.startInitialisation() }
        }
        _ = try Self.settle(&network, rounds: 30) { _ in false }
        for peer in minority {
            #expect(!network.nodes[peer]!.ring.isInitialised, "seed \(seed): a minority initialised")
            #expect(try network.nodes[peer]!.allocate(containerID: "m-\(peer.name)") == .needsInitialisation)
        }
        // The majority side initialises and allocates, although the minority proposed first.
        try network.act(majority[0]) { try $0.startInitialisation() }
        let initialised = try Self.settle(&network) { net in majority.allSatisfy { net.nodes[$0]!.ring.isInitialised } }
        #expect(initialised, "seed \(seed): the majority did not initialise")
        let seeds = network.nodes[majority[0]]!.ring.seeds
        #expect(Set(seeds).isSubset(of: majority) && seeds.count >= 3)
        guard case .allocated = try network.nodes[majority[1]]!.allocate(containerID: "a") else {
            Issue.record("seed \(seed): the majority cannot allocate"); return
        }
        // Healed: the minority adopts the majority's ring and gets space by donation.
        network.groups = [:]
        network.gossipRound()
        try network.drain()
        for peer in minority {
            #expect(network.nodes[peer]!.ring == network.nodes[majority[0]]!.ring)
            guard case .needsDonation(let donor) = try network.nodes[peer]!.allocate(containerID: "m-\(peer.name)") else {
                Issue.record("seed \(seed): \(peer) should need a donation"); continue
            }
            #expect(donor != nil)
            try network.act(peer) { $0.requestDonation() }
            try network.drain()
            guard case .allocated = try network.nodes[peer]!.allocate(containerID: "m-\(peer.name)") else {
                Issue.record("seed \(seed): \(peer) got no space"); continue
            }
        }
    }

    @Test func twoConcurrentReclaimsOfOneDeadPeerExactlyOneWins() throws {
        let seed = ringSeed("ring concurrent reclaim")
        var base = try Self.network(peers: 5, initial: 5, seed: seed)
        try base.act(ringPeer(0)) { try $0.startInitialisation() }
        #expect(try Self.settle(&base) { net in net.alive.allSatisfy { net.nodes[$0]!.ring.isInitialised } })
        var wins: [RingPeer: Int] = [:]
        for run in 0..<300 {
            var network = base
            network.random = RingRandom(seed: seed &+ UInt64(run) &* 0x9E37_79B9)
            network.dropPercent = run % 3 == 0 ? 10 : 0
            let dead = network.alive.randomElement(using: &network.random)!
            network.dead.insert(dead)
            let contenders = Array(network.alive.shuffled(using: &network.random).prefix(2))
            for peer in contenders { try network.act(peer) { try $0.reclaim(dead, incarnation: 7) } }
            // Random interleaving: deliveries in random order, retries at random moments.
            var steps = 0
            while steps < 20_000 {
                steps += 1
                if Int.random(in: 0..<50, using: &network.random) == 0 {
                    let peer = contenders.randomElement(using: &network.random)!
                    try network.act(peer) { try $0.retry() }
                }
                if !(try network.step()) {
                    if contenders.allSatisfy({ network.nodes[$0]!.reclaimOutcome(of: dead, incarnation: 7) != nil }) { break }
                    try network.retryAll()
                }
            }
            let outcomes = contenders.map { network.nodes[$0]!.reclaimOutcome(of: dead, incarnation: 7) }
            let winners = zip(contenders, outcomes).filter { $0.1.map { if case .won = $0 { true } else { false } } ?? false }
            #expect(winners.count == 1, "seed \(seed) run \(run): \(winners.count) reclaims won: \(outcomes)")
            guard winners.count == 1 else { continue }
            let winner = winners[0].0
            wins[winner, default: 0] += 1
            for (peer, outcome) in zip(contenders, outcomes) where peer != winner {
                #expect(outcome == .lost(winner: winner), "seed \(seed) run \(run)")
            }
            // Everyone converges on the winner owning the dead peer's space.
            network.dropPercent = 0
            network.gossipRound()
            try network.drain()
            let rings = network.alive.map { network.nodes[$0]!.ring }
            #expect(rings.allSatisfy { $0 == rings[0] }, "seed \(seed) run \(run): rings differ")
            #expect(rings[0].ranges(ownedBy: dead).isEmpty)
            #expect(base.nodes[winner]!.ring.ranges(ownedBy: dead).allSatisfy { rings[0].owner(of: $0.lower) == winner })
        }
        #expect(wins.count > 1, "seed \(seed): the same peer always won; interleavings were not random")
        print("ring concurrent reclaim: seed \(seed), wins per peer \(wins.sorted { $0.key < $1.key }.map { "\($0.key.nickname): \($0.value)" })")
    }

    @Test func reclaimNeedsAMajorityOfOwners() throws {
        let seed = ringSeed("ring reclaim quorum")
        var network = try Self.network(peers: 5, initial: 5, seed: seed)
        try network.act(ringPeer(0)) { try $0.startInitialisation() }
        #expect(try Self.settle(&network) { net in net.alive.allSatisfy { net.nodes[$0]!.ring.isInitialised } })
        network.dead.insert(ringPeer(4))
        // The electorate is the ring's owners plus the dead peer and the proposer (the initial
        // split may leave some of the 5 without a range). Peer 0's side of the partition gets
        // one voter fewer than a majority of it (2 of 5 when all 5 own a range); peers that own
        // nothing do not vote and may stand on either side.
        let ring = network.nodes[ringPeer(0)]!.ring
        let electorate = Set(ring.entries.indices.map(ring.owner(ofEntry:))).union([ringPeer(4), ringPeer(0)])
        let quorum = electorate.count / 2 + 1
        let companions = electorate.subtracting([ringPeer(0), ringPeer(4)]).sorted().prefix(quorum - 2)
        for index in 0..<4 {
            let peer = ringPeer(index)
            network.groups[peer] = peer == ringPeer(0) || companions.contains(peer) || !electorate.contains(peer) ? 0 : 1
        }
        try network.act(ringPeer(0)) { try $0.reclaim(ringPeer(4), incarnation: 1) }
        _ = try Self.settle(&network, rounds: 20) { _ in false }
        #expect(network.nodes[ringPeer(0)]!.reclaimOutcome(of: ringPeer(4), incarnation: 1) == nil,
                "\(quorum - 1) of \(electorate.count) owners reclaimed (seed \(seed))")
        network.groups = [:]
        #expect(try Self.settle(&network) { $0.nodes[ringPeer(0)]!.reclaimOutcome(of: ringPeer(4), incarnation: 1) != nil })
        #expect(throws: IPAMError.self) { try network.nodes[ringPeer(0)]!.reclaim(ringPeer(0), incarnation: 1) }
    }
}
