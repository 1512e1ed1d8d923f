/// What a peer knows, as Codable values for status endpoints and `cnilab`: every known peer
/// with its connections, and the local peer's unicast routes.
public struct MeshTopologyStatus: Hashable, Sendable, Codable {
    /// One known peer.
    public struct Peer: Hashable, Sendable, Codable {
        public var name: PeerName
        public var nickname: String
        public var uid: UInt64
        public var version: UInt64
        public var shortID: ShortID
        public var connections: [PeerConnection]

        public init(_ entry: PeerEntry) {
            name = entry.name
            nickname = entry.identity.nickname
            uid = entry.identity.uid
            version = entry.version
            shortID = entry.shortID
            connections = entry.connections
        }
    }

    public var localPeer: PeerName
    /// Sorted by name, the local peer included.
    public var peers: [Peer]
    /// Sorted by destination.
    public var routes: [RouteTable.Route]
    /// Known but unreachable peers, sorted.
    public var unreachable: [PeerName]

    public init(localPeer: PeerName, peers: [Peer], routes: [RouteTable.Route], unreachable: [PeerName]) {
        self.localPeer = localPeer
        self.peers = peers
        self.routes = routes
        self.unreachable = unreachable
    }
}
