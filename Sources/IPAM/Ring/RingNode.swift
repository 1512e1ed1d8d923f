import NetPrimitives

/// One peer's whole ring IPAM state, pure: the ring it knows, the addresses it handed out
/// (container ID → address), and its Paxos acceptor and proposer state. Every input
/// (``receive(_:)``, ``allocate(containerID:)``, ``reclaim(_:incarnation:)``…) changes the
/// state and returns the messages to send; the caller persists the state
/// (``RingNodeStore/save(_:)``) BEFORE sending them, so a promise is never forgotten.
/// Messages addressed to this peer, and broadcasts, are also handled here at once.
public struct RingNode: Hashable, Sendable, Codable {
    public let me: RingPeer
    /// The initial peer count N (Weave's `--ipalloc-init consensus=N`): initialising needs
    /// promises and accepts from a majority of N distinct peers.
    public let initialPeerCount: Int
    /// An observer (Weave's `--ipalloc-init observer`) never proposes nor votes on the initial
    /// split: it waits for the ring by gossip. Peers joining an established network are
    /// observers, so they cannot form an initialisation quorum of their own.
    public let observer: Bool
    public internal(set) var ring: AddressRing
    /// Container ID → address (as a 32-bit number).
    public internal(set) var allocations: [String: UInt32] = [:]
    /// Acceptor state per consensus instance key.
    public internal(set) var acceptors: [String: RingAcceptorState] = [:]
    /// Running proposals per consensus instance key.
    public internal(set) var proposers: [String: RingProposerState] = [:]
    /// Decided values per consensus instance key.
    public internal(set) var decisions: [String: RingConsensusValue] = [:]
    /// The highest ballot round seen; new ballots go above it.
    public internal(set) var highestRound: UInt64 = 0
    /// Ranges received by donation, unused until a majority of the owners confirmed them.
    public internal(set) var pendingDonations: [RingPendingDonation] = []
    /// Off only in tests, to show the hazard the confirmations prevent (a donated range is then
    /// used at once, as before they existed).
    var confirmsDonations = true

    public init(me: RingPeer, range: IPNetwork = AddressRing.defaultRange, initialPeerCount: Int, observer: Bool = false) throws {
        guard initialPeerCount >= 1 else { throw IPAMError(.invalidConfiguration, "the initial peer count must be at least 1") }
        self.me = me
        self.initialPeerCount = initialPeerCount
        self.observer = observer
        self.ring = try AddressRing(range: range)
    }

    // MARK: Allocation

    /// The address of `containerID`, when it has one.
    public func address(of containerID: String) -> IPv4Address? { allocations[containerID].map(IPv4Address.init) }

    /// Hands `containerID` a free address from this peer's ranges (idempotent: a container
    /// keeps its address). Never fails for lack of space: the result says what to do instead.
    public mutating func allocate(containerID: String) throws -> RingAllocationResult {
        try Identifier.validateContainerID(containerID)
        if let address = allocations[containerID] { return .allocated(IPv4Address(address)) }
        guard ring.isInitialised else { return .needsInitialisation }
        let taken = Set(allocations.values)
        for (index, lower, upper) in ring.ranges(ownedBy: me) where ring.entries[index].free > 0 && !isPending(entry: index) {
            var candidate = max(lower, UInt64(ring.start) + 1)
            while candidate < min(upper, ring.end - 1) {
                if !taken.contains(UInt32(candidate)) {
                    allocations[containerID] = UInt32(candidate)
                    refreshFree()
                    return .allocated(IPv4Address(UInt32(candidate)))
                }
                candidate += 1
            }
        }
        return .needsDonation(donor: bestDonor())
    }

    /// Containers whose address lies outside this peer's ranges in its current ring, sorted.
    /// Always empty unless a peer was reclaimed (rmpeer) while it was still alive or before its
    /// last donation had reached anyone: the agent should report these loudly.
    public var strayAllocations: [String] {
        allocations.filter { ring.owner(of: UInt64($0.value)) != me }.keys.sorted()
    }

    /// Frees the address of `containerID`; returns it, or nil when it had none (DEL succeeds).
    @discardableResult
    public mutating func release(containerID: String) -> IPv4Address? {
        guard let address = allocations.removeValue(forKey: containerID) else { return nil }
        refreshFree()
        return IPv4Address(address)
    }

    /// The peer (not this one) with the most free space, or nil when none has any.
    public func bestDonor() -> RingPeer? {
        ring.freeByOwner.filter { $0.key != me && $0.value > 0 }
            .max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
    }

    /// Asks ``bestDonor()`` for space (no message when nobody has any). While a donation waits
    /// for its confirmations, asks for those again instead (a donation whose donor is being
    /// reclaimed goes to the winner once the reclaim is decided, and then space is asked for).
    public func requestDonation() -> [RingEnvelope] {
        if !pendingDonations.isEmpty { return requestConfirmations() }
        guard let donor = bestDonor() else { return [] }
        return [RingEnvelope(from: me, to: donor, message: .donationRequest)]
    }

    /// Sets the free count of each own entry from the allocations (versions bump on change).
    mutating func refreshFree() {
        var used: [Int: UInt64] = [:]
        for address in allocations.values {
            if let index = ring.entryIndex(containing: UInt64(address)) { used[index, default: 0] += 1 }
        }
        for (index, lower, upper) in ring.ranges(ownedBy: me) {
            let usable = ring.usableCount(lower, upper)
            ring.updateFree(at: index, usable - min(usable, used[index] ?? 0))
        }
    }

    /// Gives half of the largest unallocated run of this peer's addresses to `requester`.
    mutating func donate(to requester: RingPeer) throws {
        let taken = allocations.values.map(UInt64.init).sorted()
        var best: (lower: UInt64, upper: UInt64)?
        for (index, lower, upper) in ring.ranges(ownedBy: me) where !isPending(entry: index) {
            let low = max(lower, UInt64(ring.start) + 1), high = min(upper, ring.end - 1)
            guard low < high else { continue }
            var gapStart = low
            for address in taken where address >= low && address < high {
                if address > gapStart, address - gapStart > (best.map { $0.upper - $0.lower } ?? 0) { best = (gapStart, address) }
                gapStart = max(gapStart, address + 1)
            }
            if high > gapStart, high - gapStart > (best.map { $0.upper - $0.lower } ?? 0) { best = (gapStart, high) }
        }
        guard let (low, high) = best else { return }
        let lower = low + (high - low) / 2
        let upper = high == ring.end - 1 ? ring.end : high
        try ring.transfer(from: lower, to: upper, by: me, to: requester, free: ring.usableCount(lower, upper))
        refreshFree()
    }

    // MARK: Messages

    /// The ring for every peer (send periodically, and after local changes).
    public func gossip() -> RingEnvelope { RingEnvelope(from: me, to: nil, message: .gossip(ring)) }

    /// Handles a message from another peer. Throws `.invalidMessage` for a message addressed to
    /// another peer, `.ringConflict` when a ring in it contradicts this peer's.
    public mutating func receive(_ envelope: RingEnvelope) throws -> [RingEnvelope] {
        if let to = envelope.to, to != me { throw IPAMError(.invalidMessage, "message for \(to) delivered to \(me)") }
        if envelope.from == me { throw IPAMError(.invalidMessage, "message from this peer itself") }
        return try deliver([envelope], local: true)
    }

    /// Handles `envelopes` locally when `local`; returns what leaves this peer. Messages to this
    /// peer and broadcasts are handled here too (this peer is its own acceptor).
    mutating func deliver(_ envelopes: [RingEnvelope], local: Bool) throws -> [RingEnvelope] {
        var outbox: [RingEnvelope] = []
        var queue: [RingEnvelope] = local ? envelopes : []
        for envelope in local ? [] : envelopes {
            if envelope.to != me { outbox.append(envelope) }
            if envelope.to == nil || envelope.to == me { queue.append(envelope) }
        }
        while !queue.isEmpty {
            let envelope = queue.removeFirst()
            for output in try handle(envelope) {
                if output.to != me { outbox.append(output) }
                if output.to == nil || output.to == me { queue.append(output) }
            }
        }
        return outbox
    }

    mutating func handle(_ envelope: RingEnvelope) throws -> [RingEnvelope] {
        let pending = pendingDonations.count
        var outbox = try handleMessage(envelope)
        // A pending donation whose donor was reclaimed meanwhile goes to the winner; a new one
        // asks the owners to confirm it.
        outbox += try settlePendingDonations()
        if pendingDonations.count > pending { outbox += requestConfirmations() }
        return outbox
    }

    private mutating func handleMessage(_ envelope: RingEnvelope) throws -> [RingEnvelope] {
        switch envelope.message {
        case .gossip(let other):
            let wasInitialised = ring.isInitialised
            try mergeRing(other)
            if !wasInitialised, ring.isInitialised {
                proposers[RingConsensusInstance.initialisation.key] = nil
            }
            // Reclaims someone else already won need no proposal any more.
            for (key, proposal) in proposers {
                if case .reclaim(let dead, _) = proposal.instance, ring.reclaimed.contains(where: { $0.dead == dead }) {
                    proposers[key] = nil
                }
            }
            refreshFree()
            return []
        case .donationRequest:
            guard envelope.from != me, ring.isInitialised else { return [] }
            try donate(to: envelope.from)
            return [RingEnvelope(from: me, to: envelope.from, message: .gossip(ring))]
        case .consensus(let message):
            return try handleConsensus(message, from: envelope.from)
        case .confirmDonation(let claim):
            return try answer(claim, from: envelope.from)
        case .donationConfirmed(let token):
            confirmed(token: token, by: envelope.from)
            return []
        }
    }
}
