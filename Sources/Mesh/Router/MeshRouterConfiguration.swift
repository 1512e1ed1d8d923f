/// Everything a ``MeshRouter`` needs: its connection node's configuration plus the routing
/// options. Defaults follow Weave where it has one.
public struct MeshRouterConfiguration: Sendable {
    /// The connection node (identity, listen address, peers to keep connected, secret, limits).
    public var node: MeshConfiguration
    /// Dial peers learned through gossip (as Weave does), subject to
    /// ``MeshConfiguration/connectionLimit``. Off: only ``MeshConfiguration/peers`` and
    /// ``MeshRouter/connect(to:)`` are dialed, so tests can build a line, a ring or a star.
    public var discovery: Bool
    /// A burst of topology changes is recalculated once it has been quiet this long…
    public var recalculationQuietPeriod: Duration
    /// …but no later than this after its first change.
    public var recalculationMaximumDelay: Duration
    /// How often a digest goes to one random neighbour (anti-entropy) and unreachable peers
    /// are checked for removal (Weave gossips every 30 s).
    public var gossipInterval: Duration
    /// A peer unreachable this long is forgotten.
    public var forgetUnreachableAfter: Duration

    public init(
        node: MeshConfiguration, discovery: Bool = true,
        recalculationQuietPeriod: Duration = .milliseconds(50), recalculationMaximumDelay: Duration = .milliseconds(500),
        gossipInterval: Duration = .seconds(30), forgetUnreachableAfter: Duration = .seconds(60)
    ) {
        self.node = node
        self.discovery = discovery
        self.recalculationQuietPeriod = recalculationQuietPeriod
        self.recalculationMaximumDelay = recalculationMaximumDelay
        self.gossipInterval = gossipInterval
        self.forgetUnreachableAfter = forgetUnreachableAfter
    }
}
