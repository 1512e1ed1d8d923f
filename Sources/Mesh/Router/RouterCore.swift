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
        /// Topology gossip waits this long for more to send to the same neighbours, so what a
        /// burst of received messages decides leaves as one message per neighbour (zero: at once).
        var sendDelay: Duration = .zero
        /// Local connection changes wait this long before the local entry changes, so a peer
        /// whose connections come up together gossips one version, not one per connection
        /// (zero: at once).
        var connectionDelay: Duration = .zero
        /// ``GossipEngine/floodsWhileViewIncomplete``.
        var floodWhileIncomplete = false
        /// While the view is incomplete (a connection reported by one end only, a peer named
        /// without an entry: entries still on their way), routes wait up to this long after the
        /// first change instead of ``maximumDelay``: they would change again as the missing
        /// entries arrive, and a cold start otherwise recalculates every peer's routes every
        /// ``maximumDelay`` until it converges. Zero: no difference.
        var incompleteViewDelay: Duration = .zero
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
    /// Topology gossip waiting for ``sendDeadline`` (``Options/sendDelay``).
    private var outgoing = GossipOutput()
    private var sendDeadline: Instant?
    /// When the engine takes the changed ``connections`` (``Options/connectionDelay``).
    private var connectionDeadline: Instant?
    /// Whether the last ``tick(now:)`` recalculated the routes.
    private(set) var tickRecalculated = false

    init(identity: PeerIdentity, options: Options) {
        self.options = options
        engine = GossipEngine(identity: identity)
        engine.floodsWhileViewIncomplete = options.floodWhileIncomplete
        coalescer = RecalculationCoalescer(quietPeriod: options.quietPeriod, maximumDelay: options.maximumDelay)
        routes = RouteTable(localPeer: identity.name)
    }

    var localName: PeerName { engine.localName }

    /// When ``tick(now:)`` should run next (a recalculation, batched gossip or a connection
    /// change is pending); nil when nothing is.
    var deadline: Instant? {
        [recalculationDeadline, sendDeadline, connectionDeadline].compactMap { $0 }.min()
    }

    /// When the pending recalculation is due: the coalescer's deadline, later while the view
    /// is incomplete (``Options/incompleteViewDelay``).
    private var recalculationDeadline: Instant? {
        guard let due = coalescer.deadline else { return nil }
        guard options.incompleteViewDelay > .zero, engine.graph.unmatchedReports > 0, let first = coalescer.firstChange else { return due }
        return max(due, first.advanced(by: options.incompleteViewDelay))
    }

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
        guard options.connectionDelay == .zero else {
            if connectionDeadline == nil { connectionDeadline = now.advanced(by: options.connectionDelay) }
            return []
        }
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
        if output.topologyChanged { coalescer.noteChange(at: now) }
        guard options.sendDelay == .zero else {
            guard !output.isEmpty else { return }
            outgoing.append(output)
            if sendDeadline == nil { sendDeadline = now.advanced(by: options.sendDelay) }
            return
        }
        send(output, into: &actions)
    }

    /// Encodes `output`'s messages as sends, leaving out what a neighbour is known to hold
    /// already (``GossipEngine/neighbour(_:holds:version:)``: while a change floods, it often
    /// reached that neighbour by another way while this batch waited).
    private mutating func send(_ output: GossipOutput, into actions: inout [Action]) {
        var output = output
        output.removeHeld { peer, owner, version in self.engine.neighbour(peer, holds: owner, version: version) }
        for send in output.sends {
            guard let bytes = try? send.message.encoded() else { continue }
            let payload = Array(bytes.readableBytesView)
            count(send.message, bytes: payload.count)
            self.engine.noteSent(send.message, to: send.peer)
            actions.append(.send(peer: send.peer, channel: options.topologyChannel, payload: payload))
        }
    }

    // MARK: - Timers

    /// Does what is due: hands the engine changed connections, sends batched gossip, and
    /// recalculates the routes when the coalescer says a burst of changes is over.
    mutating func tick(now: Instant) -> [Action] {
        var actions: [Action] = []
        if let connectionDeadline, now >= connectionDeadline {
            self.connectionDeadline = nil
            let output = engine.setLocalConnections(Array(connections.values))
            if output.topologyChanged { coalescer.noteChange(at: now) }
            // The new local entry leaves now, with whatever else was waiting.
            outgoing.append(output)
            if !outgoing.isEmpty { sendDeadline = now }
        }
        if let sendDeadline, now >= sendDeadline {
            self.sendDeadline = nil
            let output = outgoing
            outgoing = GossipOutput()
            send(output, into: &actions)
        }
        tickRecalculated = false
        if let due = recalculationDeadline, now >= due {
            tickRecalculated = coalescer.shouldRecalculate(at: now)
            if tickRecalculated { actions += recalculate() }
        }
        return actions
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
        let message = engine.antiEntropyMessage()
        guard connections[peer] != nil, let bytes = try? message.encoded() else { return [] }
        let payload = Array(bytes.readableBytesView)
        count(message, bytes: payload.count)
        return [.send(peer: peer, channel: options.topologyChannel, payload: payload)]
    }

    /// Counts one topology message sent.
    mutating func count(_ message: GossipMessage, bytes: Int) {
        counters.topologyMessagesSent += 1
        counters.topologyBytesSent += bytes
        counters.topologyEntriesSent += message.entries.count
        counters.topologyPatchesSent += message.patches.count
        counters.topologyWantsSent += message.wants.count
        if let digest = message.digest {
            counters.topologyDigestsSent += 1
            counters.topologyDigestBytesSent += 2 + digest.count * GossipMessage.digestItemSize
        }
    }

    /// Forgets peers unreachable for `delay` (the engine's garbage collection).
    mutating func collectGarbage(now: Instant, after delay: Duration) -> [Action] {
        guard !engine.collectGarbage(now: now, after: delay).isEmpty else { return [] }
        coalescer.noteChange(at: now)
        return []
    }
}
