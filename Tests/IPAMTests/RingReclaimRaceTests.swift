import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

/// The ring hazard of a reclaim racing a dead peer's last donation (RingIPAM.md, "Reclaiming a
/// dead peer"):
///
/// 1. Peer R runs out of space and asks D; D gives R half of its free run (a new token naming
///    R) and answers R alone with its ring.
/// 2. D dies before any other peer has heard of that token.
/// 3. While R is cut off, W reclaims D: a majority of the owners (W and two others) promise and
///    accept, and none of them holds R's token, so W's ring gives W every token of D, the
///    donated range included.
/// 4. W hands out addresses from D's old ranges and R from the donated range: the same
///    addresses, twice. Once the partition heals, R's token wins the merge and W's containers
///    there are stray.
///
/// With the fix, R uses donated space only after a majority of the owners confirmed holding the
/// donation; an acceptor that promised a reclaim of the donor refuses, so one of the two (the
/// donation or the reclaim) always knows of the other, and a donation that lost is handed to
/// the reclaim's winner.
@Suite struct RingReclaimRaceTests {
    /// Allocates containers on `peer` until it needs space (at most `limit`); the addresses.
    static func fill(_ network: inout RingNetwork, _ peer: RingPeer, prefix: String, limit: Int = 300) throws -> [UInt32] {
        var addresses: [UInt32] = []
        for index in 0..<limit {
            guard case .allocated(let address) = try network.nodes[peer]!.allocate(containerID: "\(prefix)-\(index)") else { break }
            addresses.append(address.value)
        }
        return addresses
    }

    /// Five peers whose ring is split among all five (as if all had promised the initial split;
    /// a split among three would leave too few owners outside the scenario for a reclaim).
    static func initialised(peers: [RingPeer], seed: UInt64, confirmations: Bool) throws -> RingNetwork {
        var network = RingNetwork(seed: seed)
        for peer in peers {
            var node = try RingNode(me: peer, range: "10.32.0.0/24", initialPeerCount: peers.count)
            try node.ring.initialise(seeds: peers)
            node.confirmsDonations = confirmations
            network.nodes[peer] = node
        }
        return network
    }

    /// Without confirmations (the code before the fix) the scenario hands addresses out twice
    /// in every run; with them, never.
    @Test(arguments: [false, true])
    func reclaimRacingTheDeadPeersLastDonation(confirmations: Bool) throws {
        let seed = ringSeed("ring reclaim race")
        var duplicated = 0
        let runs = 20
        for run in 0..<runs {
            let peers = (0..<5).map(ringPeer)
            var network = try Self.initialised(peers: peers, seed: seed &+ UInt64(run), confirmations: confirmations)
            let recipient = peers[1]
            var handedOut: [RingPeer: [UInt32]] = [:]
            handedOut[recipient] = try Self.fill(&network, recipient, prefix: "r")
            guard case .needsDonation(let donorOrNil) = try network.nodes[recipient]!.allocate(containerID: "r-more"),
                  let donor = donorOrNil
            else { Issue.record("seed \(seed) run \(run): the recipient should need a donation"); return }
            let winner = peers.first { $0 != recipient && $0 != donor }!

            // 1. The donation reaches the recipient only (R and D talk; everyone else is cut off).
            for peer in peers { network.groups[peer] = peer == recipient || peer == donor ? 0 : 1 }
            try network.act(recipient) { $0.requestDonation() }
            try network.drain()
            // 2. D dies at once.
            network.dead.insert(donor)
            // 3. rmpeer by W while R is cut off.
            for peer in peers { network.groups[peer] = peer == recipient ? 0 : 1 }
            try network.act(winner) { try $0.reclaim(donor, incarnation: 1) }
            #expect(try RingConsensusTests.settle(&network) { $0.nodes[winner]!.reclaimOutcome(of: donor, incarnation: 1) == .won },
                    "seed \(seed) run \(run): the reclaim did not succeed")
            // 4. Both hand out what they believe they own.
            handedOut[winner] = try Self.fill(&network, winner, prefix: "w")
            handedOut[recipient]! += try Self.fill(&network, recipient, prefix: "r2")
            let twice = Set(handedOut[winner]!).intersection(handedOut[recipient]!)
            guard confirmations else {
                if !twice.isEmpty { duplicated += 1 }
                continue
            }
            #expect(twice.isEmpty, "seed \(seed) run \(run): \(twice.count) addresses handed out by both \(winner.nickname) and \(recipient.nickname), e.g. \(twice.min().map { IPv4Address($0) }.map(String.init(describing:)) ?? "")")

            // 5. Healed: one ring everywhere, every allocation inside its holder's ranges.
            network.groups = [:]
            _ = try RingConsensusTests.settle(&network, rounds: 5) { _ in false }
            network.gossipRound()
            try network.drain()
            let rings = network.alive.map { network.nodes[$0]!.ring }
            #expect(rings.allSatisfy { $0 == rings[0] }, "seed \(seed) run \(run): rings differ after healing")
            for peer in network.alive {
                #expect(network.nodes[peer]!.strayAllocations.isEmpty,
                        "seed \(seed) run \(run): \(peer.nickname) holds addresses outside its ranges: \(network.nodes[peer]!.strayAllocations.prefix(3))")
            }
            // The recipient gets space again (from a live peer) without a conflict.
            var more: [UInt32] = []
            for attempt in 0..<10 {
                more += try Self.fill(&network, recipient, prefix: "r3-\(attempt)", limit: 5)
                if !more.isEmpty { break }
                try network.act(recipient) { $0.requestDonation() }
                _ = try RingConsensusTests.settle(&network, rounds: 3) { _ in false }
            }
            #expect(!more.isEmpty, "seed \(seed) run \(run): the recipient got no space after healing")
            let all = network.alive.flatMap { Array(network.nodes[$0]!.allocations.values) }
            #expect(Set(all).count == all.count, "seed \(seed) run \(run): an address is held twice")
        }
        if !confirmations {
            #expect(duplicated == runs, "seed \(seed): the hazard showed in \(duplicated) of \(runs) runs without confirmations")
        }
    }
}
