import NIOCore
import NetPrimitives

/// An address where a peer listens.
public struct MeshPeerAddress: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Weave's control port.
    public static let defaultPort = 6783
    public var address: IPAddress
    public var port: Int

    public init(_ address: IPAddress, port: Int = MeshPeerAddress.defaultPort) {
        self.address = address
        self.port = port
    }

    public var description: String { address.family == .v6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    public static func < (lhs: MeshPeerAddress, rhs: MeshPeerAddress) -> Bool {
        (lhs.address, lhs.port) < (rhs.address, rhs.port)
    }
}

/// Everything a ``MeshNode`` needs. Defaults follow Weave where it has one.
public struct MeshConfiguration: Sendable {
    public var identity: PeerIdentity
    /// Where to listen; port 0 picks a free port (see ``MeshNode/listeningAddress()``).
    public var listen: MeshPeerAddress
    /// Dial from the listen address (useful when several nodes share a host, as in tests);
    /// otherwise the kernel picks the source.
    public var dialFromListenAddress: Bool
    /// Addresses to keep connected to (more with ``MeshNode/connect(to:)``).
    public var peers: [MeshPeerAddress]
    /// nil: unencrypted; peers with a secret refuse us.
    public var secret: MeshSecret?
    /// Underlay networks whose data traffic needs no encryption (the data path decides).
    public var trustedSubnets: TrustedSubnets
    public var protocolVersions: ClosedRange<UInt8>
    /// A connection that has not completed its handshake after this is closed (Weave: 10 s).
    public var handshakeTimeout: TimeAmount
    /// A heartbeat is sent this often on every established connection.
    public var heartbeatInterval: TimeAmount
    /// A connection that receives nothing for this long is dropped.
    public var heartbeatTimeout: TimeAmount
    public var maximumFrameSize: Int
    /// Live connections (handshaking or established, both directions) at most.
    public var connectionLimit: Int
    public var acceptBurst: Int
    public var acceptsPerSecond: Double
    public var backoff: ReconnectBackoff
    public var connectTimeout: TimeAmount
    public var rekey: RekeyPolicy
    /// Received gossip buffered per subscriber before new messages are dropped (and counted).
    public var gossipBufferLimit: Int

    public init(
        identity: PeerIdentity, listen: MeshPeerAddress = MeshPeerAddress("0.0.0.0"),
        dialFromListenAddress: Bool = false, peers: [MeshPeerAddress] = [], secret: MeshSecret? = nil,
        trustedSubnets: TrustedSubnets = TrustedSubnets(), protocolVersions: ClosedRange<UInt8> = MeshProtocolVersion.supported,
        handshakeTimeout: TimeAmount = .seconds(10), heartbeatInterval: TimeAmount = .seconds(30),
        heartbeatTimeout: TimeAmount = .seconds(90), maximumFrameSize: Int = MeshFrame.defaultMaximumSize,
        connectionLimit: Int = 100, acceptBurst: Int = 20, acceptsPerSecond: Double = 10,
        backoff: ReconnectBackoff = ReconnectBackoff(), connectTimeout: TimeAmount = .seconds(10),
        rekey: RekeyPolicy = RekeyPolicy(), gossipBufferLimit: Int = 4096
    ) {
        self.identity = identity
        self.listen = listen
        self.dialFromListenAddress = dialFromListenAddress
        self.peers = peers
        self.secret = secret
        self.trustedSubnets = trustedSubnets
        self.protocolVersions = protocolVersions
        self.handshakeTimeout = handshakeTimeout
        self.heartbeatInterval = heartbeatInterval
        self.heartbeatTimeout = heartbeatTimeout
        self.maximumFrameSize = maximumFrameSize
        self.connectionLimit = connectionLimit
        self.acceptBurst = acceptBurst
        self.acceptsPerSecond = acceptsPerSecond
        self.backoff = backoff
        self.connectTimeout = connectTimeout
        self.rekey = rekey
        self.gossipBufferLimit = gossipBufferLimit
    }

    /// The largest gossip payload ``MeshNode/send(_:channel:to:)`` accepts.
    public var maximumGossipPayload: Int { maximumFrameSize - SealedRecord.overhead - 2 - 255 }
}
