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
    /// Topology gossip for a neighbour waits this long for more, so a burst of received
    /// updates leaves as one message per neighbour instead of one per update.
    public var gossipBatchDelay: Duration
    /// Connection changes wait this long before they are gossiped, so connections that come up
    /// together cost one new version of the local entry network-wide instead of one each.
    /// 250 ms: in a 300-peer cold start on a busy machine, connections come up over seconds;
    /// at 100 ms each peer gossiped a version every 100 ms while they did, and the cold start
    /// sent 2–3 times the messages and took twice as long (Documentation/Performance-Mesh.md).
    public var connectionChangeDelay: Duration
    /// Forward topology updates to every neighbour while this peer's view is incomplete
    /// (``GossipEngine/floodsWhileViewIncomplete``), instead of only along broadcast trees.
    public var floodWhileViewIncomplete: Bool
    /// While the view is incomplete (entries on their way), routes are recalculated at most
    /// this long after a burst's first change instead of ``recalculationMaximumDelay``.
    public var incompleteViewRecalculationDelay: Duration

    public init(
        node: MeshConfiguration, discovery: Bool = true,
        recalculationQuietPeriod: Duration = .milliseconds(50), recalculationMaximumDelay: Duration = .milliseconds(500),
        gossipInterval: Duration = .seconds(30), forgetUnreachableAfter: Duration = .seconds(60),
        gossipBatchDelay: Duration = .milliseconds(20), connectionChangeDelay: Duration = .milliseconds(250),
        floodWhileViewIncomplete: Bool = true, incompleteViewRecalculationDelay: Duration = .seconds(2)
    ) {
        self.node = node
        self.discovery = discovery
        self.recalculationQuietPeriod = recalculationQuietPeriod
        self.recalculationMaximumDelay = recalculationMaximumDelay
        self.gossipInterval = gossipInterval
        self.forgetUnreachableAfter = forgetUnreachableAfter
        self.gossipBatchDelay = gossipBatchDelay
        self.connectionChangeDelay = connectionChangeDelay
        self.floodWhileViewIncomplete = floodWhileViewIncomplete
        self.incompleteViewRecalculationDelay = incompleteViewRecalculationDelay
    }
}
