import NetPrimitives

// MARK: - Owner changes

extension AddressRing {
    /// Gives `[lower, upper)`, which must lie inside one entry owned by `me`, to `peer`: a
    /// token at `lower` (new, or the existing one with a higher version) now names `peer` with
    /// `free`, and a new token at `upper` keeps the rest for `me`. The free counts of `me`'s
    /// entries are then only bounds: the owner sets them again (``setFree(token:_:by:)``). The
    /// caller (the owner) guarantees no allocation of its own lies in the range.
    public mutating func transfer(from lower: UInt64, to upper: UInt64, by me: RingPeer, to peer: RingPeer, free: UInt64) throws {
        guard let index = entryIndex(containing: lower), owner(ofEntry: index) == me else {
            throw IPAMError(.notOwner, "\(me) does not own \(IPv4Address(UInt32(truncatingIfNeeded: lower)))")
        }
        let entryUpper = upperBound(ofEntry: index)
        guard upper > lower, upper <= entryUpper else {
            throw IPAMError(.notOwner, "the range to give away crosses the end of \(me)'s range")
        }
        guard free <= usableCount(lower, upper) else { throw IPAMError(.invalidConfiguration, "free count too large") }
        let original = entries[index]
        var insertAt = index
        if UInt64(original.token) == lower {
            entries[index] = RingEntry(token: original.token, owner: peer, version: original.version + 1, free: free)
        } else {
            let remaining = min(original.free, usableCount(UInt64(original.token), lower))
            entries[index] = RingEntry(token: original.token, owner: me, version: original.version + 1, free: remaining)
            insertAt = index + 1
            entries.insert(RingEntry(token: UInt32(lower), owner: peer, version: 1, free: free), at: insertAt)
        }
        if upper < entryUpper {
            // The part after the donated range stays ours; its free count is the caller's to set.
            entries.insert(RingEntry(token: UInt32(upper), owner: me, version: 1, free: 0), at: insertAt + 1)
        }
    }

    /// Sets the free count of `me`'s entry at `token`, bumping its version when it changes.
    public mutating func setFree(token: UInt32, _ free: UInt64, by me: RingPeer) throws {
        guard let index = entries.firstIndex(where: { $0.token == token }), owner(ofEntry: index) == me else {
            throw IPAMError(.notOwner, "\(me) does not own token \(IPv4Address(token))")
        }
        guard entries[index].free != free else { return }
        guard free <= usableCount(UInt64(token), upperBound(ofEntry: index)) else {
            throw IPAMError(.invalidConfiguration, "free count too large")
        }
        updateFree(at: index, free)
    }

    /// Sets the free count of entry `index` (the caller owns it), bumping its version on change.
    /// An entry still naming a reclaimed peer is rewritten as the caller's.
    mutating func updateFree(at index: Int, _ free: UInt64) {
        let me = owner(ofEntry: index)
        guard entries[index].free != free || entries[index].owner != me else { return }
        entries[index].free = free
        entries[index].owner = me
        entries[index].version += 1
    }

    /// Records a reclaim decided by consensus: the dead peer's tokens (those known now and
    /// those learnt later) belong to the winner. Throws `.ringConflict` when another winner
    /// is already recorded for the same peer.
    public mutating func applyReclaim(_ decision: RingReclaimDecision) throws {
        guard isInitialised else { throw IPAMError(.ringConflict, "reclaim on an uninitialised ring") }
        try addReclaim(RingReclaim(dead: decision.dead, winner: decision.winner))
    }

    mutating func addReclaim(_ reclaim: RingReclaim) throws {
        guard reclaim.dead != reclaim.winner else { throw IPAMError(.ringConflict, "\(reclaim.dead) cannot reclaim itself") }
        if let existing = reclaimed.first(where: { $0.dead == reclaim.dead }) {
            guard existing.winner == reclaim.winner else {
                throw IPAMError(.ringConflict, "\(reclaim.dead) reclaimed by both \(existing.winner) and \(reclaim.winner)")
            }
            return
        }
        reclaimed.append(reclaim)
        reclaimed.sort { $0.dead < $1.dead }
        guard effectiveOwner(reclaim.dead) != reclaim.dead else { throw IPAMError(.ringConflict, "circular reclaims of \(reclaim.dead)") }
    }
}
