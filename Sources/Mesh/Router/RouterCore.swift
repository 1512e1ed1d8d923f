import NIOCore

/// The router's logic as a pure value: it owns the ``GossipEngine``, the recalculation
/// coalescer and the published route table, and turns connection events, received bytes,
/// timer ticks and send requests into ``Action``s for the shell (``MeshRouter``) to perform.
/// It does no I/O and reads no clock: every event carries `now`.
struct RouterCore: Sendable {
    typealias Instant = ContinuousClock.Instant

    /// What the shell does after an event, in order.
    enum Action: Hashable, Sendable {
        /// Send bytes on a connection channel to a directly connected peer.
        case send(peer: PeerName, channel: String, payload: [UInt8])
        /// Hand a routed message to the local subscribers of its channel.
        case deliver(MeshRoutedMessage)
        /// The route table changed: publish the diff to the data path.
        case routesChanged(RouteTableDiff)
        /// Discovery: keep dialing this address (a peer we are not connected to listens there).
        case connect(MeshPeerAddress)
        /// Discovery: stop dialing this address (no longer needed or no longer advertised).
        case forget(MeshPeerAddress)
    }

    struct Options: Sendable {
        var topologyChannel = MeshRouter.topologyChannel
        var discovery = true
        /// Discovered addresses are dialed only while established connections plus discovered
        /// targets stay below this.
        var connectionLimit = 100
        /// The port assumed for a peer seen only on inbound connections (its source port is ephemeral).
        var defaultPort = MeshPeerAddress.defaultPort
        var quietPeriod: Duration = .milliseconds(50)
        var maximumDelay: Duration = .milliseconds(500)
    }

    let options: Options
    private(set) var engine: GossipEngine
    private var coalescer: RecalculationCoalescer<Instant>
    /// The routes last published.
    private(set) var routes: RouteTable
    /// Our established connections, as reported in our topology entry.
    private(set) var connections: [PeerName: PeerConnection] = [:]
    /// Addresses the discovery asked the shell to dial.
    var discovered: Set<MeshPeerAddress> = []
    /// Addresses dialed on request (configured peers, ``MeshRouter/connect(to:)``): discovery
    /// never adds or forgets them.
    var directAddresses: Set<MeshPeerAddress> = []
    var counters = MeshRouterCounters()
    /// The engine's routing generation ``routes`` were calculated at (nil: never).
    private var routedGeneration: UInt64?
    /// Changes whenever ``routes`` is recalculated.
    private(set) var routesGeneration: UInt64 = 0
    /// ``missingGossipHint()`` as last computed, and the topology and routes it was computed for.
    var cachedHint: (topology: UInt64, routes: UInt64, hint: PeerName?)?

    init(identity: PeerIdentity, options: Options) {
        self.options = options
        engine = GossipEngine(identity: identity)
        coalescer = RecalculationCoalescer(quietPeriod: options.quietPeriod, maximumDelay: options.maximumDelay)
        routes = RouteTable(localPeer: identity.name)
    }

    var localName: PeerName { engine.localName }

    /// When ``tick(now:)`` should run next (a recalculation is pending); nil when nothing is.
    var deadline: Instant? { coalescer.deadline }

    // MARK: - Connections

    mutating func connectionEstablished(peer: PeerName, address: MeshPeerAddress, outbound: Bool, now: Instant) -> [Action] {
        connections[peer] = PeerConnection(peer: peer, remoteAddress: address.description, outbound: outbound, established: true)
        return connectionsChanged(now: now)
    }

    mutating func connectionLost(peer: PeerName, now: Instant) -> [Action] {
        guard connections.removeValue(forKey: peer) != nil else { return [] }
        return connectionsChanged(now: now)
    }

    private mutating func connectionsChanged(now: Instant) -> [Action] {
        var actions: [Action] = []
        apply(engine.setLocalConnections(Array(connections.values)), now: now, into: &actions)
        return actions
    }

    // MARK: - Received bytes

    /// Bytes a directly connected peer sent on a connection channel the router owns.
    mutating func received(channel: String, payload: [UInt8], from sender: PeerName, now: Instant) -> [Action] {
        if channel == options.topologyChannel { return receivedTopology(payload, from: sender, now: now) }
        if channel == MeshRoutedMessage.connectionChannel { return receivedRouted(payload, from: sender, now: now) }
        return []
    }

    private mutating func receivedTopology(_ payload: [UInt8], from sender: PeerName, now: Instant) -> [Action] {
        counters.topologyMessagesReceived += 1
        counters.topologyBytesReceived += payload.count
        let message: GossipMessage
        do { message = try GossipMessage(decoding: ByteBuffer(bytes: payload)) } catch {
            counters.topologyMalformed += 1
            return []
        }
        var actions: [Action] = []
        apply(engine.receive(message, from: sender), now: now, into: &actions)
        return actions
    }

    private mutating func apply(_ output: GossipOutput, now: Instant, into actions: inout [Action]) {
        for send in output.sends {
            guard let bytes = try? send.message.encoded() else { continue }
            let payload = Array(bytes.readableBytesView)
            counters.topologyMessagesSent += 1
            counters.topologyBytesSent += payload.count
            actions.append(.send(peer: send.peer, channel: options.topologyChannel, payload: payload))
        }
        if output.topologyChanged { coalescer.noteChange(at: now) }
    }

    // MARK: - Timers

    /// Recalculates the routes when the coalescer says a burst of changes is over.
    mutating func tick(now: Instant) -> [Action] {
        guard coalescer.shouldRecalculate(at: now) else { return [] }
        return recalculate()
    }

    /// Routes now, whatever the coalescer says (before relaying with a change pending).
    mutating func recalculateIfPending() -> [Action] {
        guard coalescer.deadline != nil else { return [] }
        _ = coalescer.shouldRecalculate(at: coalescer.deadline!)
        return recalculate()
    }

    /// New routes, unless nothing they depend on changed since the last calculation (the
    /// engine's ``GossipEngine/routingGeneration``): most gossip changes one end of a new
    /// connection, or an address, and leaves the two-way graph as it was.
    private mutating func recalculate() -> [Action] {
        var actions: [Action] = []
        if routedGeneration != engine.routingGeneration {
            counters.recalculations += 1
            routedGeneration = engine.routingGeneration
            let table = engine.routes()
            let diff = table.changes(since: routes)
            routes = table
            routesGeneration &+= 1
            if !diff.isEmpty { actions.append(.routesChanged(diff)) }
        }
        if options.discovery { actions += rediscover() }
        return actions
    }

    /// A digest for one neighbour (the shell picks one at random every gossip interval).
    mutating func antiEntropy(to peer: PeerName) -> [Action] {
        guard connections[peer] != nil, let bytes = try? engine.antiEntropyMessage().encoded() else { return [] }
        let payload = Array(bytes.readableBytesView)
        counters.topologyMessagesSent += 1
        counters.topologyBytesSent += payload.count
        return [.send(peer: peer, channel: options.topologyChannel, payload: payload)]
    }

    /// Forgets peers unreachable for `delay` (the engine's garbage collection).
    mutating func collectGarbage(now: Instant, after delay: Duration) -> [Action] {
        guard !engine.collectGarbage(now: now, after: delay).isEmpty else { return [] }
        coalescer.noteChange(at: now)
        return []
    }
}
