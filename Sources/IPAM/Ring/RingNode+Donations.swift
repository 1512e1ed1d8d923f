/// A range this peer received from another peer (a donation: a token naming this peer that
/// another peer created) and does not use yet: it waits until a majority of the owners confirm
/// they hold it. An owner that has promised to reclaim the donor refuses, so a donation and a
/// reclaim of its donor never both go ahead unaware of each other (see RingIPAM.md).
public struct RingPendingDonation: Hashable, Sendable, Codable {
    /// The token (first address) of the donated range.
    public var token: UInt32
    /// The peer that owned the range before, in this peer's view when the token arrived.
    public var donor: RingPeer
    /// Owners that confirmed holding the token (this peer included once it did).
    public var confirmations: Set<RingPeer> = []

    public init(token: UInt32, donor: RingPeer) {
        self.token = token
        self.donor = donor
    }
}

/// A donation's recipient asks every peer to hold its ring (with the donated token) and confirm.
public struct RingDonationClaim: Hashable, Sendable, Codable {
    public var token: UInt32
    /// One past the range's last address.
    public var upper: UInt64
    public var donor: RingPeer
    /// The recipient's ring, with the donated token.
    public var ring: AddressRing
}

extension RingNode {
    /// Merges `other` into the ring and notes the tokens naming this peer that it brought (a
    /// donation from whoever owned the range before, in this peer's view) as pending.
    mutating func mergeRing(_ other: AddressRing) throws {
        let before = ring
        try ring.merge(other)
        guard confirmsDonations, before.isInitialised else { return }
        for entry in ring.entries where entry.owner == me && !pendingDonations.contains(where: { $0.token == entry.token }) {
            guard let index = before.entryIndex(containing: UInt64(entry.token)) else { continue }
            let previous = before.owner(ofEntry: index)
            guard previous != me else { continue }
            pendingDonations.append(RingPendingDonation(token: entry.token, donor: previous))
        }
    }

    /// Whether entry `index` (one of this peer's) waits for confirmation: not allocated from
    /// nor donated further.
    func isPending(entry index: Int) -> Bool {
        pendingDonations.contains { $0.token == ring.entries[index].token }
    }

    /// Asks every peer to confirm each pending donation (this peer answers itself at once).
    /// Sent when a donation arrives and again by ``retry()`` and ``requestDonation()``.
    func requestConfirmations() -> [RingEnvelope] {
        pendingDonations.compactMap { pending in
            guard let index = ring.entries.firstIndex(where: { $0.token == pending.token }) else { return nil }
            let claim = RingDonationClaim(token: pending.token, upper: ring.upperBound(ofEntry: index), donor: pending.donor, ring: ring)
            return RingEnvelope(from: me, to: nil, message: .confirmDonation(claim))
        }
    }

    /// Whether this peer has promised, accepted or learnt a reclaim of `peer`.
    func isReclaiming(_ peer: RingPeer) -> Bool {
        let prefix = RingConsensusInstance.reclaim(dead: peer, incarnation: 0).key.dropLast(1)
        return ring.reclaimed.contains { $0.dead == peer }
            || acceptors.keys.contains { $0.hasPrefix(prefix) } || decisions.keys.contains { $0.hasPrefix(prefix) }
    }

    /// An owner's answer to a donation claim: refused (with this peer's ring, which may tell
    /// the recipient who won the donor's space) when this peer is reclaiming the donor or the
    /// range's (effective) owner in its own ring; otherwise it merges the claim's ring, so a promise it
    /// makes later carries the donation to the reclaimer, and confirms.
    mutating func answer(_ claim: RingDonationClaim, from recipient: RingPeer) throws -> [RingEnvelope] {
        guard ring.isInitialised else { return [] }
        var owners: Set<RingPeer> = [claim.donor]
        if let first = ring.entryIndex(containing: UInt64(claim.token)) {
            var index = first
            while index < ring.entries.count, UInt64(ring.entries[index].token) < claim.upper {
                // Effective owners: a peer reclaimed long ago hands its space to the winner,
                // who may donate it like any other.
                owners.insert(ring.owner(ofEntry: index))
                index += 1
            }
        }
        if owners.contains(where: { $0 != recipient && isReclaiming($0) }) {
            return [RingEnvelope(from: me, to: recipient, message: .gossip(ring))]
        }
        try mergeRing(claim.ring)
        refreshFree()
        return [RingEnvelope(from: me, to: recipient, message: .donationConfirmed(token: claim.token))]
    }

    /// Counts a confirmation; the range becomes usable with a majority of the owners (those in
    /// this peer's ring, plus the donor and this peer).
    mutating func confirmed(token: UInt32, by peer: RingPeer) {
        guard let position = pendingDonations.firstIndex(where: { $0.token == token }) else { return }
        let electorate = Set(ring.entries.indices.map(ring.owner(ofEntry:))).union([pendingDonations[position].donor, me])
        guard electorate.contains(peer) else { return }
        pendingDonations[position].confirmations.insert(peer)
        if pendingDonations[position].confirmations.count >= majority(of: electorate.count) {
            pendingDonations.remove(at: position)
        }
    }

    /// Pending donations whose donor has been reclaimed meanwhile lost the race: the range goes
    /// to the reclaim's winner (who may already hand out addresses from it). Also drops pending
    /// entries that are no longer this peer's. Returns the ring for everyone when it changed.
    mutating func settlePendingDonations() throws -> [RingEnvelope] {
        var changed = false
        for pending in pendingDonations {
            guard let index = ring.entries.firstIndex(where: { $0.token == pending.token }), ring.owner(ofEntry: index) == me else {
                pendingDonations.removeAll { $0.token == pending.token }
                continue
            }
            let winner = ring.effectiveOwner(pending.donor)
            guard winner != pending.donor else { continue }
            pendingDonations.removeAll { $0.token == pending.token }
            // This peer won the donor's space itself: the range is its own either way.
            guard winner != me else { continue }
            let lower = UInt64(pending.token), upper = ring.upperBound(ofEntry: index)
            try ring.transfer(from: lower, to: upper, by: me, to: winner, free: 0)
            changed = true
        }
        guard changed else { return [] }
        refreshFree()
        return [gossip()]
    }
}
