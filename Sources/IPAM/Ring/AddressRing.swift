import NetPrimitives

/// One token of an ``AddressRing``: the range from `token` up to the next token (or the end
/// of the ring's range) belongs to `owner`. `version` grows with every change of the entry
/// (only its owner changes it); `free` is the owner's count of unallocated addresses in it.
public struct RingEntry: Hashable, Sendable, Codable {
    /// The first address of the range, as a 32-bit number.
    public var token: UInt32
    public var owner: RingPeer
    public var version: UInt64
    public var free: UInt64

    public init(token: UInt32, owner: RingPeer, version: UInt64, free: UInt64) {
        self.token = token
        self.owner = owner
        self.version = version
        self.free = free
    }

    /// Same token and version: the contents must agree (owner and free), or some peer changed a
    /// token it did not own.
    func agrees(with other: RingEntry) -> Bool {
        owner == other.owner && owner.nickname == other.owner.nickname && free == other.free
    }
}

/// A reclaim decided by consensus (rmpeer): every token of `dead` now belongs to `winner`.
public struct RingReclaim: Hashable, Sendable, Codable {
    public var dead: RingPeer
    public var winner: RingPeer

    public init(dead: RingPeer, winner: RingPeer) {
        self.dead = dead
        self.winner = winner
    }
}

/// One IPv4 range (default `10.32.0.0/12`) split among peers as a ring of tokens, each owning
/// the addresses up to the next token. A state-based CRDT: ``merge(_:)`` is a join (per token
/// the higher version wins; tokens are never removed), commutative, associative and idempotent,
/// and refuses inputs that contradict each other instead of guessing. Ownership cannot overlap:
/// every address belongs to the entry of the greatest token at or below it.
///
/// Only an owner changes its entries (``transfer(from:to:by:to:free:)``,
/// ``setFree(token:_:by:)``). A reclaim decided by consensus (``applyReclaim(_:)``) is recorded
/// as a ``RingReclaim`` (grow-only, merged by union): every token of the dead peer, including
/// tokens the reclaimer had not heard of yet, belongs to the winner from then on, who rewrites
/// such a token as its own when it first changes it.
public struct AddressRing: Hashable, Sendable, Codable {
    /// The first address of the range.
    public let start: UInt32
    /// One past the last address of the range.
    public let end: UInt64
    /// The peers the range was first split among (empty: not initialised). Rings seeded
    /// differently never merge.
    public internal(set) var seeds: [RingPeer]
    /// The tokens, sorted, the first at `start` (empty: not initialised).
    public internal(set) var entries: [RingEntry]
    /// Reclaimed peers and their winners, sorted by the dead peer's name.
    public internal(set) var reclaimed: [RingReclaim]

    /// Weave's default allocation range.
    public static let defaultRange: IPNetwork = try! IPNetwork(parsing: "10.32.0.0/12")

    /// An uninitialised ring over `range` (IPv4, at most a /30: four addresses, two usable).
    public init(range: IPNetwork = AddressRing.defaultRange) throws {
        guard let network = range.network.address.ipv4, range.family == .v4 else {
            throw IPAMError(.invalidConfiguration, "the ring range \(range) is not IPv4")
        }
        guard range.prefixLength <= 30 else {
            throw IPAMError(.invalidConfiguration, "the ring range \(range) is smaller than a /30")
        }
        start = network.value
        end = UInt64(network.value) + (UInt64(1) << UInt64(32 - range.prefixLength))
        seeds = []
        entries = []
        reclaimed = []
    }

    /// The range as a network.
    public var range: IPNetwork {
        let prefix = 32 - (end - UInt64(start)).trailingZeroBitCount
        return try! IPNetwork(address: .v4(IPv4Address(start)), prefixLength: prefix)
    }

    public var isInitialised: Bool { !entries.isEmpty }

    /// Splits the range evenly among `peers` (sorted by name), version 1. Every peer that
    /// learns the same decided peer set computes the same ring.
    public mutating func initialise(seeds peers: [RingPeer]) throws {
        let sorted = Array(Set(peers)).sorted()
        guard !sorted.isEmpty else { throw IPAMError(.invalidConfiguration, "no seed peers") }
        guard !isInitialised else {
            if seeds == sorted { return }
            throw IPAMError(.ringConflict, "ring already seeded by \(seeds), not \(sorted)")
        }
        let size = end - UInt64(start)
        guard UInt64(sorted.count) <= size else { throw IPAMError(.invalidConfiguration, "more seeds than addresses") }
        var tokens: [UInt64] = sorted.indices.map { UInt64(start) + size * UInt64($0) / UInt64(sorted.count) }
        tokens.append(end)
        entries = sorted.indices.map { index in
            RingEntry(
                token: UInt32(tokens[index]), owner: sorted[index], version: 1,
                free: usableCount(tokens[index], tokens[index + 1]))
        }
        seeds = sorted
    }

    /// The addresses in `[lower, upper)` that can be handed out: the range's first (network)
    /// and last (broadcast) addresses never are.
    public func usableCount(_ lower: UInt64, _ upper: UInt64) -> UInt64 {
        guard upper > lower else { return 0 }
        var count = upper - lower
        if lower == UInt64(start) { count -= 1 }
        if upper == end, count > 0 { count -= 1 }
        return count
    }

    /// Whether `address` may be handed out (inside the range, not its first or last address).
    public func isUsable(_ address: UInt64) -> Bool { address > UInt64(start) && address + 1 < end }

    /// The end (exclusive) of the range of entry `index`.
    public func upperBound(ofEntry index: Int) -> UInt64 {
        index + 1 < entries.count ? UInt64(entries[index + 1].token) : end
    }

    /// The index of the entry holding `address`, or nil outside the range or uninitialised.
    public func entryIndex(containing address: UInt64) -> Int? {
        guard address >= UInt64(start), address < end, isInitialised else { return nil }
        var low = 0
        var high = entries.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if UInt64(entries[middle].token) <= address { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// `peer`, or the peer that won its tokens by reclaim (following later reclaims too).
    public func effectiveOwner(_ peer: RingPeer) -> RingPeer {
        var owner = peer
        for _ in 0...reclaimed.count {
            guard let reclaim = reclaimed.first(where: { $0.dead == owner }) else { return owner }
            owner = reclaim.winner
        }
        return owner
    }

    /// The owner of entry `index` (after reclaims).
    public func owner(ofEntry index: Int) -> RingPeer { effectiveOwner(entries[index].owner) }

    /// The owner of `address` (after reclaims).
    public func owner(of address: UInt64) -> RingPeer? { entryIndex(containing: address).map(owner(ofEntry:)) }

    /// The ranges `[lower, upper)` of `peer`'s entries, in token order, with their entry indices.
    public func ranges(ownedBy peer: RingPeer) -> [(index: Int, lower: UInt64, upper: UInt64)] {
        entries.indices.filter { owner(ofEntry: $0) == peer }.map { ($0, UInt64(entries[$0].token), upperBound(ofEntry: $0)) }
    }

    /// Every owner with its total free count (from the entries' `free`).
    public var freeByOwner: [RingPeer: UInt64] {
        entries.indices.reduce(into: [:]) { $0[owner(ofEntry: $1), default: 0] += entries[$1].free }
    }
}
