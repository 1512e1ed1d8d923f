/// A Paxos ballot: a round number, ties broken by the proposer's peer name.
public struct RingBallot: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var round: UInt64
    public var proposer: UInt64

    public init(round: UInt64, proposer: UInt64) {
        self.round = round
        self.proposer = proposer
    }

    public static func < (lhs: RingBallot, rhs: RingBallot) -> Bool { (lhs.round, lhs.proposer) < (rhs.round, rhs.proposer) }
    public var description: String { "\(round).\(proposer)" }
}

/// Which single-decree consensus a message belongs to: the ring's initial split, or the
/// reclaim of one dead peer incarnation (its name and the uid/generation it had).
public enum RingConsensusInstance: Hashable, Sendable, Codable, CustomStringConvertible {
    case initialisation
    case reclaim(dead: RingPeer, incarnation: UInt64)

    /// A stable text key (`init`, `reclaim/0a:1b:2c:3d:4e:5f/7`): the persistence key component.
    public var key: String {
        switch self {
        case .initialisation: "init"
        case .reclaim(let dead, let incarnation): "reclaim/\(dead.nameText)/\(incarnation)"
        }
    }

    public var description: String { key }
}

/// What a reclaim decides: `winner` takes every token of `dead`.
public struct RingReclaimDecision: Hashable, Sendable, Codable {
    public var dead: RingPeer
    public var incarnation: UInt64
    public var winner: RingPeer

    public init(dead: RingPeer, incarnation: UInt64, winner: RingPeer) {
        self.dead = dead
        self.incarnation = incarnation
        self.winner = winner
    }
}

/// A value a consensus instance decides.
public enum RingConsensusValue: Hashable, Sendable, Codable {
    /// The initial split: the range is divided among these peers.
    case seeds([RingPeer])
    /// A dead peer's tokens pass to the winner.
    case reclaim(RingReclaimDecision)
}

/// A value an acceptor accepted, with its ballot.
public struct RingAcceptedValue: Hashable, Sendable, Codable {
    public var ballot: RingBallot
    public var value: RingConsensusValue
}

/// The messages of single-decree Paxos between ring peers (carried inside ``RingMessage``).
public enum RingConsensusMessage: Hashable, Sendable, Codable {
    /// Phase 1a, broadcast.
    case prepare(RingConsensusInstance, RingBallot)
    /// Phase 1b: the acceptor promises to ignore lower ballots; it reports what it accepted
    /// and, for a reclaim, its ring (so the proposer sees every token of the dead peer a
    /// quorum knows of).
    case promise(RingConsensusInstance, RingBallot, accepted: RingAcceptedValue?, ring: AddressRing?)
    /// The acceptor has promised a higher ballot.
    case reject(RingConsensusInstance, RingBallot, promised: RingBallot)
    /// Phase 2a, to the promisers.
    case accept(RingConsensusInstance, RingBallot, RingConsensusValue)
    /// Phase 2b.
    case accepted(RingConsensusInstance, RingBallot)
    /// The outcome, broadcast by the proposer that reached a quorum (and by any peer asked
    /// about an instance it knows the outcome of).
    case decided(RingConsensusInstance, RingConsensusValue)

    public var instance: RingConsensusInstance {
        switch self {
        case .prepare(let instance, _), .promise(let instance, _, _, _), .reject(let instance, _, _),
            .accept(let instance, _, _), .accepted(let instance, _), .decided(let instance, _):
            instance
        }
    }
}

/// An acceptor's durable state for one instance. It must survive restarts: an acceptor that
/// forgot a promise could let two values be chosen.
public struct RingAcceptorState: Hashable, Sendable, Codable {
    public var promised: RingBallot?
    public var accepted: RingAcceptedValue?

    public init() {}

    /// Phase 1: promise when `ballot` is at least every ballot promised so far.
    mutating func prepare(_ ballot: RingBallot) -> Bool {
        if let promised, ballot < promised { return false }
        promised = ballot
        return true
    }

    /// Phase 2: accept unless a higher ballot was promised.
    mutating func accept(_ ballot: RingBallot, _ value: RingConsensusValue) -> Bool {
        if let promised, ballot < promised { return false }
        promised = ballot
        accepted = RingAcceptedValue(ballot: ballot, value: value)
        return true
    }
}

/// A proposer's state for one instance (in memory and persisted, so a restarted proposer never
/// reuses a ballot).
public struct RingProposerState: Hashable, Sendable, Codable {
    public enum Phase: String, Hashable, Sendable, Codable {
        case preparing
        case accepting
    }

    public var instance: RingConsensusInstance
    public var ballot: RingBallot
    /// How many distinct peers (this one included) must answer each phase.
    public var quorum: Int
    public var phase: Phase
    /// Only promises and accepts of these peers count (reclaims); nil: any peer (initialisation).
    public var electorate: [RingPeer]?
    /// Promisers with what they had accepted.
    public var promises: [RingPeer: RingAcceptedValue?] = [:]
    public var accepts: Set<RingPeer> = []
    public var value: RingConsensusValue?

    public init(instance: RingConsensusInstance, ballot: RingBallot, quorum: Int) {
        self.instance = instance
        self.ballot = ballot
        self.quorum = quorum
        self.phase = .preparing
    }

    /// The value phase 2 must propose: the highest-ballot accepted value among the promises,
    /// when any (Paxos' rule), else nil (the proposer is free to choose).
    var constrainedValue: RingConsensusValue? {
        promises.values.compactMap { $0 }.max { $0.ballot < $1.ballot }?.value
    }
}

/// Majority of `count`.
func majority(of count: Int) -> Int { count / 2 + 1 }
