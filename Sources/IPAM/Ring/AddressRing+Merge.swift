import NetPrimitives

// MARK: - Merge

extension AddressRing {
    /// The join of two ring states. Throws `.ringConflict` for different ranges or seeds, an
    /// invalid input, or one token at one version with different contents.
    public func merged(with other: AddressRing) throws -> AddressRing {
        guard start == other.start, end == other.end else {
            throw IPAMError(.ringConflict, "ring ranges differ: \(range) and \(other.range)")
        }
        try other.validate()
        if !other.isInitialised { return self }
        if !isInitialised { return other }
        guard seeds == other.seeds else {
            throw IPAMError(.ringConflict, "rings seeded by different peers: \(seeds) and \(other.seeds)")
        }
        var result = self
        try result.mergeEntries(other.entries)
        for reclaim in other.reclaimed { try result.addReclaim(reclaim) }
        return result
    }

    /// Merges `other` into this ring (see ``merged(with:)``).
    public mutating func merge(_ other: AddressRing) throws { self = try merged(with: other) }

    /// Joins sorted `incoming` entries into `entries`.
    mutating func mergeEntries(_ incoming: [RingEntry]) throws {
        var merged: [RingEntry] = []
        merged.reserveCapacity(entries.count + incoming.count)
        var left = 0
        var right = 0
        while left < entries.count || right < incoming.count {
            if right == incoming.count || (left < entries.count && entries[left].token < incoming[right].token) {
                merged.append(entries[left]); left += 1
            } else if left == entries.count || incoming[right].token < entries[left].token {
                merged.append(incoming[right]); right += 1
            } else {
                let mine = entries[left], theirs = incoming[right]
                if mine.version == theirs.version {
                    guard mine.agrees(with: theirs) else {
                        throw IPAMError(
                            .ringConflict,
                            "token \(IPv4Address(mine.token)) at version \(mine.version) is \(mine.owner) (free \(mine.free)) here and \(theirs.owner) (free \(theirs.free)) there")
                    }
                    merged.append(mine)
                } else {
                    merged.append(mine.version > theirs.version ? mine : theirs)
                }
                left += 1; right += 1
            }
        }
        entries = merged
    }

    /// Throws `.ringConflict` unless the tokens are sorted, unique, inside the range, the first
    /// at its start, seeds present exactly when tokens are, and every free count fits its range.
    public func validate() throws {
        guard seeds.isEmpty == entries.isEmpty, reclaimed.isEmpty || !entries.isEmpty else {
            throw IPAMError(.ringConflict, "ring has \(seeds.count) seeds, \(entries.count) tokens and \(reclaimed.count) reclaims")
        }
        for index in reclaimed.indices {
            guard reclaimed[index].dead != reclaimed[index].winner, index == 0 || reclaimed[index - 1].dead < reclaimed[index].dead else {
                throw IPAMError(.ringConflict, "reclaims not sorted, repeated or circular at \(reclaimed[index].dead)")
            }
        }
        guard let first = entries.first else { return }
        guard first.token == start else { throw IPAMError(.ringConflict, "first token \(IPv4Address(first.token)) is not the range start") }
        for index in entries.indices {
            let lower = UInt64(entries[index].token)
            guard lower < end else { throw IPAMError(.ringConflict, "token \(IPv4Address(entries[index].token)) outside the range") }
            if index > 0, entries[index - 1].token >= entries[index].token {
                throw IPAMError(.ringConflict, "tokens not sorted at \(IPv4Address(entries[index].token))")
            }
            guard entries[index].free <= usableCount(lower, upperBound(ofEntry: index)) else {
                throw IPAMError(.ringConflict, "token \(IPv4Address(entries[index].token)) claims more free addresses than it has")
            }
        }
    }
}
