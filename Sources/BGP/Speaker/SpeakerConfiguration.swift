import NetPrimitives

extension BGPSpeaker {
    /// The speaker's own settings.
    public struct Configuration: Sendable {
        /// Our AS number (4-octet ASNs are fine).
        public var localAS: UInt32
        /// The BGP identifier.
        public var routerID: IPv4Address
        /// Address to accept connections on; nil disables listening (all peers active). "::"
        /// accepts IPv4 and IPv6 peers (IPv4-mapped addresses are matched to IPv4 peers).
        public var listenAddress: IPAddress?
        public var listenPort: Int
        /// RFC 4456 cluster ID when reflecting; defaults to the router ID.
        public var clusterID: IPv4Address?
        /// LOCAL_PREF for routes without one.
        public var defaultLocalPreference: UInt32
        /// Seconds a peer should keep our routes when we restart (RFC 4724); 0 disables the
        /// graceful-restart capability (and so also the helper role).
        public var gracefulRestartTime: UInt16
        /// Where sockets are created (its network namespace).
        public var socketContext: SocketContext

        public init(
            localAS: UInt32, routerID: IPv4Address, listenAddress: IPAddress? = .v4(.any), listenPort: Int = 179,
            clusterID: IPv4Address? = nil, defaultLocalPreference: UInt32 = 100, gracefulRestartTime: UInt16 = 120,
            socketContext: SocketContext = .processNamespace
        ) {
            self.localAS = localAS
            self.routerID = routerID
            self.listenAddress = listenAddress
            self.listenPort = listenPort
            self.clusterID = clusterID
            self.defaultLocalPreference = defaultLocalPreference
            self.gracefulRestartTime = gracefulRestartTime
            self.socketContext = socketContext
        }
    }

    /// One neighbour. A peer with our own AS is internal (iBGP).
    public struct PeerConfiguration: Sendable {
        public var address: IPAddress
        public var asNumber: UInt32
        public var port: Int
        /// Only accept connections; never connect.
        public var passive: Bool
        /// Proposed hold time in seconds (0, or 3 and more); keepalives go every third of it.
        public var holdTime: Int
        public var connectRetryTime: Int
        /// RFC 2385 TCP MD5 password.
        public var password: String?
        public var families: [AddressFamily]
        /// This peer is a route-reflector client of ours (RFC 4456).
        public var routeReflectorClient: Bool
        /// Close the session (Cease, maximum prefixes) when the peer sends more prefixes.
        public var maximumPrefixes: Int?
        /// Source address for our connections; also the IPv4 next hop we announce.
        public var localAddress: IPAddress?
        /// IPv6 next hop to announce over an IPv4 session.
        public var nextHopIPv6: IPv6Address?
        /// Export policy: return false to keep a route from this peer.
        public var exportFilter: (@Sendable (BGPRoute) -> Bool)?
        /// Import policy: return false to ignore a route received from this peer.
        public var importFilter: (@Sendable (BGPRoute) -> Bool)?

        public init(
            address: IPAddress, asNumber: UInt32, port: Int = 179, passive: Bool = false, holdTime: Int = 90,
            connectRetryTime: Int = 30, password: String? = nil, families: [AddressFamily] = [.ipv4Unicast],
            routeReflectorClient: Bool = false, maximumPrefixes: Int? = nil, localAddress: IPAddress? = nil,
            nextHopIPv6: IPv6Address? = nil, exportFilter: (@Sendable (BGPRoute) -> Bool)? = nil,
            importFilter: (@Sendable (BGPRoute) -> Bool)? = nil
        ) {
            self.address = address
            self.asNumber = asNumber
            self.port = port
            self.passive = passive
            self.holdTime = holdTime
            self.connectRetryTime = connectRetryTime
            self.password = password
            self.families = families
            self.routeReflectorClient = routeReflectorClient
            self.maximumPrefixes = maximumPrefixes
            self.localAddress = localAddress
            self.nextHopIPv6 = nextHopIPv6
            self.exportFilter = exportFilter
            self.importFilter = importFilter
        }
    }

    /// A peer's state and counters.
    public struct PeerStatus: Hashable, Sendable {
        public var address: IPAddress
        public var asNumber: UInt32
        public var state: SessionState
        /// Set while Established.
        public var negotiated: NegotiatedSession?
        public var messagesReceived: Int
        public var messagesSent: Int
        public var updatesReceived: Int
        public var updatesSent: Int
        /// Prefixes in this peer's Adj-RIB-In (including stale ones).
        public var prefixesReceived: Int
        /// Prefixes in this peer's Adj-RIB-Out.
        public var prefixesAdvertised: Int
        /// Prefixes kept stale from before the peer restarted.
        public var stalePrefixes: Int
        /// How often the session reached Established.
        public var establishedTransitions: Int
        public var lastDownReason: SessionDownReason?
        public var lastError: String?
    }
}
