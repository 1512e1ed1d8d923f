import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

/// The ring as a CRDT: random histories of legitimate owner changes and gossip among a few
/// peers; every snapshot taken along the way is merged with others in random combinations.
@Suite struct RingMergeTests {
    /// The ranges `peer` believes it owns in `ring`, as half-open intervals.
    static func owned(_ ring: AddressRing, by peer: RingPeer) -> [(UInt64, UInt64)] {
        ring.ranges(ownedBy: peer).map { ($0.lower, $0.upper) }
    }

    static func overlaps(_ a: [(UInt64, UInt64)], _ b: [(UInt64, UInt64)]) -> Bool {
        a.contains { x in b.contains { y in x.0 < y.1 && y.0 < x.1 } }
    }

    /// A random history: `peers` views of one ring, changed only by owners (donations of
    /// random sub-ranges, free count changes) and by merging each other's views.
    static func history(seed: UInt64, random: inout RingRandom) throws -> (snapshots: [AddressRing], views: [RingPeer: AddressRing]) {
        let peers = (0..<Int.random(in: 2...6, using: &random)).map(ringPeer)
        var base = try AddressRing(range: "10.32.0.0/24")
        try base.initialise(seeds: Array(peers.prefix(Int.random(in: 1...peers.count, using: &random))))
        var views = Dictionary(uniqueKeysWithValues: peers.map { ($0, base) })
        var snapshots = [base]
        // At most one peer dies and is reclaimed (the decision, as consensus would make it,
        // reaches the views one by one); a dead peer acts no more.
        var dead: RingPeer?
        var decision: RingReclaimDecision?
        for _ in 0..<60 {
            let living = peers.filter { $0 != dead }
            let peer = living.randomElement(using: &random)!
            var view = views[peer]!
            switch Int.random(in: 0..<11, using: &random) {
            case 10:
                if dead == nil, living.count > 2 {
                    // Like rmpeer: only once the dead peer's last state has spread to everyone.
                    let victim = living.filter { $0 != peer }.randomElement(using: &random)!
                    for other in peers { views[other] = try views[other]!.merged(with: views[victim]!) }
                    view = views[peer]!
                    dead = victim
                    decision = RingReclaimDecision(dead: victim, incarnation: 1, winner: peer)
                }
                if let decision { try view.applyReclaim(decision) }
            case 0..<4:
                let mine = view.ranges(ownedBy: peer)
                guard let range = mine.randomElement(using: &random), range.upper - range.lower >= 1 else { break }
                let lower = UInt64.random(in: range.lower..<range.upper, using: &random)
                let upper = UInt64.random(in: (lower + 1)...range.upper, using: &random)
                let target = living.randomElement(using: &random)!
                guard target != peer else { break }
                try view.transfer(from: lower, to: upper, by: peer, to: target, free: view.usableCount(lower, upper))
            case 4..<6:
                guard let range = view.ranges(ownedBy: peer).randomElement(using: &random) else { break }
                let usable = view.usableCount(range.lower, range.upper)
                try view.setFree(token: view.entries[range.index].token, UInt64.random(in: 0...usable, using: &random), by: peer)
            default:
                let other = views[peers.randomElement(using: &random)!]!
                try view.merge(other)
            }
            views[peer] = view
            snapshots.append(view)
            // Safety at every step: no two live peers believe they own the same address.
            for a in peers where a != dead {
                for b in peers where a < b && b != dead {
                    #expect(
                        !overlaps(owned(views[a]!, by: a), owned(views[b]!, by: b)),
                        "seed \(seed): \(a) and \(b) both believe they own an address")
                }
            }
        }
        if let dead { views[dead] = nil }
        return (snapshots, views)
    }

    @Test func mergeIsCommutativeAssociativeIdempotentAndNeverOverlaps() throws {
        let seed = ringSeed("ring merge laws")
        var random = RingRandom(seed: seed)
        for round in 0..<40 {
            let (snapshots, views) = try Self.history(seed: seed, random: &random)
            for _ in 0..<60 {
                let a = snapshots.randomElement(using: &random)!
                let b = snapshots.randomElement(using: &random)!
                let c = snapshots.randomElement(using: &random)!
                let ab = try a.merged(with: b)
                #expect(ab == (try b.merged(with: a)), "seed \(seed) round \(round): not commutative")
                #expect((try ab.merged(with: c)) == (try a.merged(with: b.merged(with: c))), "seed \(seed) round \(round): not associative")
                #expect((try a.merged(with: a)) == a, "seed \(seed) round \(round): not idempotent")
                #expect((try ab.merged(with: a)) == ab, "seed \(seed) round \(round): merge is not an upper bound")
                try ab.validate()
                // The ranges partition the ring: every address has exactly one owner.
                var covered: UInt64 = 0
                for index in ab.entries.indices { covered += ab.upperBound(ofEntry: index) - UInt64(ab.entries[index].token) }
                #expect(covered == ab.end - UInt64(ab.start))
            }
            // Everything merged: each peer still owns (at least) what it believes it owns.
            let all = try snapshots.reduce(snapshots[0]) { try $0.merged(with: $1) }
            for (peer, view) in views {
                for (lower, upper) in Self.owned(view, by: peer) {
                    for address in [lower, upper - 1] {
                        #expect(all.owner(of: address) == peer, "seed \(seed) round \(round): \(peer) lost an address it owns")
                    }
                }
            }
        }
    }

    @Test func inconsistentInputsAreRejected() throws {
        var a = try AddressRing(range: "10.32.0.0/24")
        try a.initialise(seeds: [ringPeer(1), ringPeer(2)])
        var b = a
        // Both "own" token 10.32.0.0 and give it to different peers at the same version.
        try a.transfer(from: UInt64(a.start), to: UInt64(a.start) + 128, by: ringPeer(1), to: ringPeer(3), free: 127)
        try b.transfer(from: UInt64(b.start), to: UInt64(b.start) + 128, by: ringPeer(1), to: ringPeer(4), free: 127)
        #expect(throws: IPAMError.self) { try a.merged(with: b) }
        do {
            _ = try a.merged(with: b)
        } catch let error as IPAMError {
            #expect(error.code == .ringConflict)
        }
        // Different seeds, different ranges.
        var c = try AddressRing(range: "10.32.0.0/24")
        try c.initialise(seeds: [ringPeer(1)])
        #expect(throws: IPAMError.self) { try a.merged(with: c) }
        #expect(throws: IPAMError.self) { try a.merged(with: AddressRing(range: "10.33.0.0/24")) }
        // Only the owner changes its tokens.
        #expect(throws: IPAMError.self) {
            try c.transfer(from: UInt64(c.start) + 1, to: UInt64(c.start) + 2, by: ringPeer(2), to: ringPeer(3), free: 1)
        }
        // An uninitialised ring merges as the identity.
        #expect((try a.merged(with: AddressRing(range: "10.32.0.0/24"))) == a)
        #expect((try AddressRing(range: "10.32.0.0/24").merged(with: a)) == a)
    }

    @Test func initialSplitIsEvenAndExcludesNetworkAndBroadcast() throws {
        var ring = try AddressRing()
        try ring.initialise(seeds: [ringPeer(3), ringPeer(1), ringPeer(2), ringPeer(1)])
        #expect(ring.seeds == [ringPeer(1), ringPeer(2), ringPeer(3)])
        #expect(ring.entries.map(\.owner) == [ringPeer(1), ringPeer(2), ringPeer(3)])
        #expect(ring.entries.first?.token == IPv4Address(10, 32, 0, 0).value)
        let total = ring.entries.reduce(0) { $0 + $1.free }
        #expect(total == (1 << 20) - 2)
        #expect(!ring.isUsable(UInt64(ring.start)) && !ring.isUsable(ring.end - 1) && ring.isUsable(UInt64(ring.start) + 1))
    }
}
