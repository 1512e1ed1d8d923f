import NetPrimitives

/// What the RIB needs to know about a peer.
struct RIBPeer {
    var address: IPAddress
    var asNumber: UInt32
    var routerID: IPv4Address
    var isInternal: Bool
    var isRouteReflectorClient: Bool
    /// Our address on the session, used as next hop when we set next hop self.
    var localIPv4: IPv4Address?
    var localIPv6: IPv6Address?
    var families: Set<AddressFamily>
    var maximumPrefixes: Int?
    var fourOctetAS: Bool
    /// Whether routes may be exported to it (decides per route; true = export).
    var exportFilter: (@Sendable (BGPRoute) -> Bool)?
    /// Import policy: false keeps a received route out of the Loc-RIB (it stays in Adj-RIB-In
    /// bookkeeping as rejected, i.e. not stored).
    var importFilter: (@Sendable (BGPRoute) -> Bool)? = nil
}

/// Per-peer tables: Adj-RIB-In, Adj-RIB-Out and graceful-restart state.
struct PeerTables {
    var peer: RIBPeer
    var established = false
    var adjacencyIn: [BGPPrefix: SharedAttributes] = [:]
    var adjacencyOut: [BGPPrefix: SharedAttributes] = [:]
    /// Prefixes kept from before a graceful restart, not yet re-announced.
    var stale: Set<BGPPrefix> = []
    var received = 0
}

/// Updates the RIB wants sent to one peer.
struct OutboundUpdates {
    /// Announcements grouped by attributes (one UPDATE per group, split at 4096 bytes).
    var announcements: [(SharedAttributes, [BGPPrefix])] = []
    var withdrawals: [BGPPrefix] = []
    var isEmpty: Bool { announcements.isEmpty && withdrawals.isEmpty }
}

/// The result of one RIB operation.
struct RIBResult {
    var changes: [BestPathChange] = []
    var outbound: [Int: OutboundUpdates] = [:]
    /// The peer went over its max-prefix limit.
    var prefixLimitExceeded = false
}
