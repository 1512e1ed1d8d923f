/// One connection a peer reports in its topology entry.
///
/// A connection carries traffic only when it is ``established`` and the peer at the other end
/// reports it too (two-way); routes ignore one-sided connections.
public struct PeerConnection: Hashable, Sendable, Codable {
    /// The peer at the other end.
    public var peer: PeerName
    /// Its address as the reporting peer sees it ("192.0.2.7:6783"); informational, at most 255 UTF-8 bytes.
    public var remoteAddress: String
    /// Whether the reporting peer dialled it.
    public var outbound: Bool
    /// Whether the handshake completed and the connection carries traffic.
    public var established: Bool

    public init(peer: PeerName, remoteAddress: String, outbound: Bool, established: Bool) {
        self.peer = peer
        self.remoteAddress = remoteAddress
        self.outbound = outbound
        self.established = established
    }
}

/// What one peer says about itself in the topology: who it is, which short ID it claims and
/// whom it is connected to. Only the peer itself changes its entry; each change increments
/// ``version``.
public struct PeerEntry: Hashable, Sendable, Codable {
    public var identity: PeerIdentity
    /// Increments on every change the owner makes to its entry.
    public var version: UInt64
    public var shortID: ShortID
    /// Sorted by peer name, at most one per peer.
    public var connections: [PeerConnection]

    public init(identity: PeerIdentity, version: UInt64, shortID: ShortID, connections: [PeerConnection]) {
        self.identity = identity
        self.version = version
        self.shortID = shortID
        self.connections = Self.normalised(connections)
    }

    public var name: PeerName { identity.name }

    /// The summary a digest carries for this entry.
    public var digest: PeerDigest { PeerDigest(name: identity.name, uid: identity.uid, version: version) }

    /// The peers this entry lists as established.
    var establishedPeers: [PeerName] { connections.lazy.filter(\.established).map(\.peer) }

    static func normalised(_ connections: [PeerConnection]) -> [PeerConnection] {
        var byPeer: [PeerName: PeerConnection] = [:]
        for connection in connections { byPeer[connection.peer] = connection }
        return byPeer.values.sorted { $0.peer < $1.peer }
    }
}

/// The version of one entry a peer holds, without its content: what a digest lists.
public struct PeerDigest: Hashable, Sendable, Codable {
    public var name: PeerName
    public var uid: UInt64
    public var version: UInt64

    public init(name: PeerName, uid: UInt64, version: UInt64) {
        self.name = name
        self.uid = uid
        self.version = version
    }

    /// Whether an entry with this digest supersedes one with `other` (same peer): a higher
    /// version wins; at equal versions the higher uid wins, so every peer picks the same one.
    /// (A restarted peer, whose new uid starts at a low version, is handled by the peer
    /// itself: it raises its version above the old incarnation's, see ``GossipEngine``.)
    public func supersedes(_ other: PeerDigest) -> Bool {
        if version != other.version { return version > other.version }
        return uid > other.uid
    }
}
