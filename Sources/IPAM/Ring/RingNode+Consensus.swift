/// Initialisation and reclaims by consensus: single-decree Paxos per instance, this peer being
/// proposer (when it starts one), acceptor and learner.
extension RingNode {
    /// Starts (once) the consensus on the initial split; a majority of ``initialPeerCount``
    /// distinct peers must promise and accept, so a minority partition never initialises.
    /// The decided split is among the peers whose promises reached the proposer. An observer
    /// never starts one.
    public mutating func startInitialisation() throws -> [RingEnvelope] {
        let instance = RingConsensusInstance.initialisation
        guard !observer, !ring.isInitialised, decisions[instance.key] == nil, proposers[instance.key] == nil else { return [] }
        return try propose(instance, quorum: majority(of: initialPeerCount), electorate: nil)
    }

    /// rmpeer: proposes that this peer takes the tokens of `dead` (the incarnation `incarnation`,
    /// e.g. its uid). The electorate is every owner in this peer's ring plus `dead`; a majority
    /// of it must promise and accept, so of two concurrent reclaims of one peer exactly one is
    /// chosen, and the loser learns the winner (``reclaimOutcome(of:incarnation:)``).
    public mutating func reclaim(_ dead: RingPeer, incarnation: UInt64) throws -> [RingEnvelope] {
        guard dead != me else { throw IPAMError(.invalidConfiguration, "a peer cannot reclaim itself") }
        guard ring.isInitialised else { throw IPAMError(.invalidConfiguration, "the ring is not initialised") }
        let instance = RingConsensusInstance.reclaim(dead: dead, incarnation: incarnation)
        guard decisions[instance.key] == nil, proposers[instance.key] == nil,
            !ring.reclaimed.contains(where: { $0.dead == dead })
        else { return [] }
        let electorate = Set(ring.entries.indices.map(ring.owner(ofEntry:))).union([dead, me])
        return try propose(instance, quorum: majority(of: electorate.count), electorate: electorate.sorted())
    }

    /// How the reclaim of `dead` ended, once this peer knows.
    /// (A reclaim of the same peer decided under another incarnation counts too.)
    public func reclaimOutcome(of dead: RingPeer, incarnation: UInt64) -> RingReclaimOutcome? {
        let winner: RingPeer
        if case .reclaim(let decision) = decisions[RingConsensusInstance.reclaim(dead: dead, incarnation: incarnation).key] {
            winner = decision.winner
        } else if let reclaim = ring.reclaimed.first(where: { $0.dead == dead }) {
            winner = reclaim.winner
        } else {
            return nil
        }
        return winner == me ? .won : .lost(winner: winner)
    }

    /// Restarts every undecided proposal with a higher ballot, and asks again for the
    /// confirmations of pending donations (call after a timeout).
    public mutating func retry() throws -> [RingEnvelope] {
        var outbox: [RingEnvelope] = try deliver(requestConfirmations(), local: false)
        for proposal in proposers.values.sorted(by: { $0.instance.key < $1.instance.key }) {
            outbox += try propose(proposal.instance, quorum: proposal.quorum, electorate: proposal.electorate)
        }
        return outbox
    }

    /// Whether a consensus is running here.
    public var isProposing: Bool { !proposers.isEmpty }

    private mutating func propose(_ instance: RingConsensusInstance, quorum: Int, electorate: [RingPeer]?) throws -> [RingEnvelope] {
        highestRound += 1
        var proposal = RingProposerState(instance: instance, ballot: RingBallot(round: highestRound, proposer: me.name), quorum: quorum)
        proposal.electorate = electorate
        proposers[instance.key] = proposal
        return try deliver([send(.prepare(instance, proposal.ballot), to: nil)], local: false)
    }

    private func send(_ message: RingConsensusMessage, to peer: RingPeer?) -> RingEnvelope {
        RingEnvelope(from: me, to: peer, message: .consensus(message))
    }

    mutating func handleConsensus(_ message: RingConsensusMessage, from peer: RingPeer) throws -> [RingEnvelope] {
        let instance = message.instance
        let key = instance.key
        switch message {
        case .prepare(_, let ballot):
            highestRound = max(highestRound, ballot.round)
            if let value = decisions[key] { return [send(.decided(instance, value), to: peer)] }
            if case .initialisation = instance {
                // An initialised peer answers with its ring; an observer stays out of it.
                if ring.isInitialised { return [RingEnvelope(from: me, to: peer, message: .gossip(ring))] }
                if observer { return [] }
            }
            if case .reclaim(let dead, _) = instance {
                if dead == me { return [] }
                // Already reclaimed: the ring tells the proposer who won.
                if ring.reclaimed.contains(where: { $0.dead == dead }) { return [RingEnvelope(from: me, to: peer, message: .gossip(ring))] }
            }
            var acceptor = acceptors[key] ?? RingAcceptorState()
            guard acceptor.prepare(ballot) else { return [send(.reject(instance, ballot, promised: acceptor.promised!), to: peer)] }
            acceptors[key] = acceptor
            let ring: AddressRing? = if case .reclaim = instance { self.ring } else { nil }
            return [send(.promise(instance, ballot, accepted: acceptor.accepted, ring: ring), to: peer)]
        case .promise(_, let ballot, let accepted, let promisedRing):
            guard var proposal = proposers[key], proposal.ballot == ballot, proposal.phase == .preparing else { return [] }
            if let promisedRing { try mergeRing(promisedRing) }
            if proposal.electorate.map({ $0.contains(peer) }) ?? true { proposal.promises[peer] = .some(accepted) }
            guard proposal.promises.count >= proposal.quorum else { proposers[key] = proposal; return [] }
            let value = proposal.constrainedValue ?? chooseValue(for: instance, promisers: Array(proposal.promises.keys))
            proposal.phase = .accepting
            proposal.value = value
            proposers[key] = proposal
            return proposal.promises.keys.sorted().map { send(.accept(instance, ballot, value), to: $0) }
        case .reject(_, _, let promised):
            highestRound = max(highestRound, promised.round)
            return []
        case .accept(_, let ballot, let value):
            highestRound = max(highestRound, ballot.round)
            if let decided = decisions[key] { return [send(.decided(instance, decided), to: peer)] }
            if case .initialisation = instance, observer || ring.isInitialised { return [] }
            var acceptor = acceptors[key] ?? RingAcceptorState()
            guard acceptor.accept(ballot, value) else { return [send(.reject(instance, ballot, promised: acceptor.promised!), to: peer)] }
            acceptors[key] = acceptor
            return [send(.accepted(instance, ballot), to: peer)]
        case .accepted(_, let ballot):
            guard var proposal = proposers[key], proposal.ballot == ballot, proposal.phase == .accepting,
                let value = proposal.value
            else { return [] }
            if proposal.electorate.map({ $0.contains(peer) }) ?? true { proposal.accepts.insert(peer) }
            proposers[key] = proposal
            guard proposal.accepts.count >= proposal.quorum else { return [] }
            try learn(instance, value)
            return [send(.decided(instance, value), to: nil)]
        case .decided(_, let value):
            try learn(instance, value)
            return []
        }
    }

    /// The value this proposer picks when no acceptor had accepted one: the promisers as seeds,
    /// or this peer as the winner of the dead peer's tokens.
    private func chooseValue(for instance: RingConsensusInstance, promisers: [RingPeer]) -> RingConsensusValue {
        switch instance {
        case .initialisation:
            return .seeds(ring.isInitialised ? ring.seeds : promisers.sorted())
        case .reclaim(let dead, let incarnation):
            return .reclaim(RingReclaimDecision(dead: dead, incarnation: incarnation, winner: me))
        }
    }

    /// Records a decided value and applies it to the ring. Learning a different value for a
    /// decided instance is a `.ringConflict` (it would mean Paxos' safety was broken).
    mutating func learn(_ instance: RingConsensusInstance, _ value: RingConsensusValue) throws {
        if let known = decisions[instance.key] {
            guard known == value else { throw IPAMError(.ringConflict, "two different outcomes for \(instance)") }
            return
        }
        decisions[instance.key] = value
        proposers[instance.key] = nil
        switch value {
        case .seeds(let peers):
            if !ring.isInitialised { try ring.initialise(seeds: peers) }
        case .reclaim(let decision):
            if ring.isInitialised { try ring.applyReclaim(decision) }
        }
        refreshFree()
    }
}
