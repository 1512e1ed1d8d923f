import NetPrimitives

/// A change in the set of connected peers.
public enum MeshConnectionEvent: Hashable, Sendable, Codable {
    /// A connection completed its handshake. `encrypted` is true when both have the secret.
    case established(peer: PeerIdentity, address: MeshPeerAddress, encrypted: Bool, outbound: Bool)
    /// The established connection to `peer` ended.
    case lost(peer: PeerIdentity, reason: MeshCloseReason)
    /// A connection attempt or an inbound connection failed before it was established. Inbound
    /// connections closed at once by the accept rate or connection limit are only counted and
    /// kept in ``MeshNodeStatus/recentRefusals`` (a flood must not grow this stream).
    case refused(address: MeshPeerAddress, peer: PeerIdentity?, reason: MeshCloseReason)
}

/// Gossip bytes a directly connected peer sent.
public struct MeshGossipMessage: Hashable, Sendable {
    public var from: PeerIdentity
    public var channel: String
    public var payload: [UInt8]

    public init(from: PeerIdentity, channel: String, payload: [UInt8]) {
        self.from = from
        self.channel = channel
        self.payload = payload
    }
}

/// One live connection.
public struct MeshConnectionStatus: Hashable, Sendable, Codable {
    public var address: MeshPeerAddress
    public var outbound: Bool
    public var state: MeshConnectionStateMachine.State
    /// Known once the peer's hello arrived.
    public var peer: PeerIdentity?
    public var encrypted: Bool
    public var protocolVersion: UInt8?
    /// Seconds since established.
    public var establishedSeconds: Double?
    public var recordsDropped: [String: Int]
}

/// An address the node keeps dialing.
public struct MeshTargetStatus: Hashable, Sendable, Codable {
    public enum State: String, Hashable, Sendable, Codable { case waiting, connecting, connected, coveredByInbound, never }
    public var address: MeshPeerAddress
    public var state: State
    public var lastError: MeshCloseReason?
    /// Seconds until the next attempt while waiting.
    public var nextAttemptSeconds: Double?
}

/// A connection refused or failed before establishment (most recent last).
public struct MeshRefusal: Hashable, Sendable, Codable {
    public var address: MeshPeerAddress
    public var peer: PeerIdentity?
    public var outbound: Bool
    public var reason: MeshCloseReason
}

/// Counters since start.
public struct MeshCounters: Hashable, Sendable, Codable {
    public var recordsTampered = 0
    public var recordsReplayed = 0
    public var recordsStaleGeneration = 0
    public var recordsMalformed = 0
    /// Frames with a zero or oversized length, or messages that broke the protocol.
    public var framesRejected = 0
    public var acceptsRateLimited = 0
    public var acceptsOverLimit = 0
    public var handshakesFailed = 0
    public var gossipReceived = 0
    public var gossipSent = 0
    public var gossipDroppedSlowConsumer = 0
    /// Sends refused because the peer's connection was backlogged (``MeshError/Code/peerBacklogged``).
    public var gossipRefusedBacklog = 0

    public init() {}

    mutating func count(_ rejection: RecordRejection) {
        switch rejection {
        case .tampered: recordsTampered += 1
        case .replayed: recordsReplayed += 1
        case .staleGeneration: recordsStaleGeneration += 1
        case .malformed: recordsMalformed += 1
        }
    }
}

/// The node's state for operators (encode it as JSON).
public struct MeshNodeStatus: Hashable, Sendable, Codable {
    public var identity: PeerIdentity
    public var listening: MeshPeerAddress?
    public var encryption: Bool
    public var connections: [MeshConnectionStatus]
    public var targets: [MeshTargetStatus]
    public var recentRefusals: [MeshRefusal]
    public var counters: MeshCounters
}
