/// What the router sent, relayed and dropped since it started (part of ``MeshRouterStatus``).
public struct MeshRouterCounters: Hashable, Sendable, Codable {
    /// Topology gossip messages and their bytes (gossip message encoding, before the
    /// connection's framing and encryption) sent to and received from neighbours.
    public var topologyMessagesSent = 0
    public var topologyBytesSent = 0
    public var topologyMessagesReceived = 0
    public var topologyBytesReceived = 0
    /// Topology messages that did not decode (the sender is left connected; the message is ignored).
    public var topologyMalformed = 0
    /// Of the topology messages sent: whole entries and patches carried, digests (their bytes
    /// too) and asks for missing entries (repairs and anti-entropy included).
    public var topologyEntriesSent = 0
    public var topologyPatchesSent = 0
    public var topologyDigestsSent = 0
    public var topologyDigestBytesSent = 0
    public var topologyWantsSent = 0
    /// Route recalculations (coalesced: one per burst of topology changes).
    public var recalculations = 0
    /// Routed messages this peer originated, relayed for others and delivered to its subscribers.
    public var routedSent = 0
    public var routedRelayed = 0
    public var routedDelivered = 0
    /// Routed messages dropped: no route to the destination, hop limit reached, undecodable.
    public var routedNoRoute = 0
    public var routedHopLimit = 0
    public var routedMalformed = 0

    public init() {}
}
