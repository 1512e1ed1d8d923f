/// One connection a peer reports in its topology entry.
///
/// A connection carries traffic only when it is ``established`` and the peer at the other end
/// reports it too (two-way); routes ignore one-sided connections.
public struct PeerConnection: Hashable, Sendable, Codable {
    /// The peer's 48-bit name in the low bits, ``outbound`` in bit 48 and ``established`` in
    /// bit 49: every peer holds every entry's connections, so a connection takes 24 bytes
    /// instead of 32.
    private var packed: UInt64
    /// Its address as the reporting peer sees it ("192.0.2.7:6783"); informational, at most 255 UTF-8 bytes.
    public var remoteAddress: String

    private static let outboundBit: UInt64 = 1 << 48
    private static let establishedBit: UInt64 = 1 << 49

    public init(peer: PeerName, remoteAddress: String, outbound: Bool, established: Bool) {
        packed = peer.rawValue | (outbound ? Self.outboundBit : 0) | (established ? Self.establishedBit : 0)
        self.remoteAddress = remoteAddress
    }

    /// The peer at the other end.
    public var peer: PeerName {
        get { PeerName(low48: packed) }
        set { packed = packed & ~0xffff_ffff_ffff | newValue.rawValue }
    }

    /// Whether the reporting peer dialled it.
    public var outbound: Bool {
        get { packed & Self.outboundBit != 0 }
        set { packed = newValue ? packed | Self.outboundBit : packed & ~Self.outboundBit }
    }

    /// Whether the handshake completed and the connection carries traffic.
    public var established: Bool {
        get { packed & Self.establishedBit != 0 }
        set { packed = newValue ? packed | Self.establishedBit : packed & ~Self.establishedBit }
    }

    private enum CodingKeys: String, CodingKey { case peer, remoteAddress, outbound, established }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            peer: try container.decode(PeerName.self, forKey: .peer),
            remoteAddress: try container.decode(String.self, forKey: .remoteAddress),
            outbound: try container.decode(Bool.self, forKey: .outbound),
            established: try container.decode(Bool.self, forKey: .established))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(peer, forKey: .peer)
        try container.encode(remoteAddress, forKey: .remoteAddress)
        try container.encode(outbound, forKey: .outbound)
        try container.encode(established, forKey: .established)
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

    /// `connections` itself when it is already sorted by peer and unique (the normal case), else
    /// ``normalised(_:)``.
    static func sortedUnique(_ connections: [PeerConnection]) -> [PeerConnection] {
        var index = 1
        while index < connections.count, connections[index - 1].peer < connections[index].peer { index += 1 }
        return index >= connections.count ? connections : normalised(connections)
    }

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
