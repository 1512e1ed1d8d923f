import NetPrimitives

/// What ring peers send each other. Every message is Codable (JSON) so the agent can carry it
/// over the mesh's gossip and point-to-point channels.
public enum RingMessage: Hashable, Sendable, Codable {
    /// The sender's whole ring; the receiver merges it. Sent periodically to everyone, and as
    /// the answer to a donation request.
    case gossip(AddressRing)
    /// The sender has no free space and asks the receiver to give some.
    case donationRequest
    /// Paxos for the initial split and for reclaims.
    case consensus(RingConsensusMessage)
    /// A donation's recipient asks every peer to hold the donated token and confirm
    /// (``RingPendingDonation``); broadcast.
    case confirmDonation(RingDonationClaim)
    /// The sender holds the donated token at `token` and is not reclaiming its donor.
    case donationConfirmed(token: UInt32)
}

/// A ``RingMessage`` with its sender and addressee (`to == nil`: every peer).
public struct RingEnvelope: Hashable, Sendable, Codable {
    public var from: RingPeer
    public var to: RingPeer?
    public var message: RingMessage

    public init(from: RingPeer, to: RingPeer?, message: RingMessage) {
        self.from = from
        self.to = to
        self.message = message
    }
}

/// What ``RingNode/allocate(containerID:)`` did.
public enum RingAllocationResult: Hashable, Sendable {
    /// The container holds this address (newly, or already: allocation is idempotent).
    case allocated(IPv4Address)
    /// The ring has not been split yet: run ``RingNode/startInitialisation()`` (it needs a
    /// quorum of the initial peer count) and try again once it is decided.
    case needsInitialisation
    /// This peer owns no free address: send ``RingNode/requestDonation()`` (to `donor`, the peer
    /// with the most free space; nil when no peer has any) and try again after its answer.
    case needsDonation(donor: RingPeer?)
}

/// How a reclaim (rmpeer) of a dead peer ended, as this peer learnt it.
public enum RingReclaimOutcome: Hashable, Sendable, Codable {
    /// This peer won: the dead peer's tokens are now its own.
    case won
    /// Another peer's reclaim was chosen; that peer has the tokens.
    case lost(winner: RingPeer)
}
