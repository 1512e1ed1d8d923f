import NetPrimitives

/// What one peer knows of the ring, as a Codable value the agent prints as JSON: the ring's
/// ranges with owners, versions and free counts, and per peer its owned and free space.
public struct RingStatus: Hashable, Sendable, Codable {
    /// One token's range, `first` to `last` inclusive.
    public struct Range: Hashable, Sendable, Codable {
        public var first: IPv4Address
        public var last: IPv4Address
        public var owner: RingPeer
        public var version: UInt64
        public var free: UInt64
    }

    /// One owner's share of the ring.
    public struct PeerSpace: Hashable, Sendable, Codable {
        public var peer: RingPeer
        /// Addresses owned (network and broadcast of the whole range included).
        public var owned: UInt64
        /// Unallocated addresses, as the entries say.
        public var free: UInt64
        /// Number of ranges (tokens).
        public var ranges: Int
    }

    public var peer: RingPeer
    public var range: IPNetwork
    public var initialised: Bool
    public var seeds: [RingPeer]
    /// Peers reclaimed (rmpeer) and who won their space.
    public var reclaimed: [RingReclaim]
    public var ranges: [Range]
    public var peers: [PeerSpace]
    /// Addresses this peer handed out.
    public var allocations: Int
    /// Containers whose address is outside this peer's ranges (see ``RingNode/strayAllocations``).
    public var strayAllocations: [String]
    /// Consensus instances this peer is proposing (`init`, `reclaim/<peer>/<incarnation>`).
    public var proposals: [String]
}

extension RingNode {
    /// This peer's view of the ring.
    public var status: RingStatus {
        let ranges = ring.entries.indices.map { index in
            RingStatus.Range(
                first: IPv4Address(ring.entries[index].token),
                last: IPv4Address(UInt32(ring.upperBound(ofEntry: index) - 1)),
                owner: ring.owner(ofEntry: index), version: ring.entries[index].version, free: ring.entries[index].free)
        }
        var peers: [RingPeer: RingStatus.PeerSpace] = [:]
        for index in ring.entries.indices {
            let entry = ring.entries[index]
            let owner = ring.owner(ofEntry: index)
            var space = peers[owner] ?? RingStatus.PeerSpace(peer: owner, owned: 0, free: 0, ranges: 0)
            space.owned += ring.upperBound(ofEntry: index) - UInt64(entry.token)
            space.free += entry.free
            space.ranges += 1
            peers[owner] = space
        }
        return RingStatus(
            peer: me, range: ring.range, initialised: ring.isInitialised, seeds: ring.seeds, reclaimed: ring.reclaimed, ranges: ranges,
            peers: peers.values.sorted { $0.peer < $1.peer }, allocations: allocations.count,
            strayAllocations: strayAllocations, proposals: proposers.keys.sorted())
    }
}
