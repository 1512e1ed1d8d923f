import Logging
import NIOCore
import NIOPosix

/// One peer of a Weave-like mesh, complete: a ``MeshNode`` for the encrypted connections and a
/// ``GossipEngine`` for the topology, joined. Connection changes and received gossip go to the
/// engine, its updates go to the neighbours, routes are recalculated once per burst of changes
/// and published; other channels send messages to any reachable peer (hop by hop along the
/// unicast routes) or to all of them (along the broadcast tree).
///
/// The logic is a pure value (`RouterCore`); this actor only feeds it events and performs
/// what it returns. Messages to neighbours leave in the order the router decided them.
public actor MeshRouter {
    /// The connection channel the topology gossip travels on.
    public static let topologyChannel = "mesh.topology"

    public nonisolated let configuration: MeshRouterConfiguration
    /// The connection node underneath (status, data-path keys).
    public nonisolated let node: MeshNode
    private let logger: Logger
    // The members without `private` are used by the timers in MeshRouter+Repair.swift.
    var core: RouterCore
    /// What one event decided, in order (one element per event, so its sends reach the node's
    /// event loop together).
    private let outbox: AsyncStream<[RouterCore.Action]>.Continuation
    private let outboxStream: AsyncStream<[RouterCore.Action]>
    private var tasks: [Task<Void, Never>] = []
    var timer: Task<Void, Never>?
    var timerDeadline: ContinuousClock.Instant?
    private var routeSubscribers: [Int: AsyncStream<RouteTableDiff>.Continuation] = [:]
    private var messageSubscribers: [Int: (channel: String, continuation: AsyncStream<MeshRoutedMessage>.Continuation)] = [:]
    private var nextSubscriber = 0
    private var resyncPending: Set<PeerName> = []
    var repairTimer: Task<Void, Never>?
    static let initialRepairDelay: Duration = .milliseconds(200)
    var repairDelay = MeshRouter.initialRepairDelay
    var repairDeadline: ContinuousClock.Instant?
    /// Repairs sent for the current gap (``repairHint``); the first is aimed, later ones digests.
    var repairAttempt = 0
    var repairHint: PeerName?
    var running = false
    private var stopped = false

    public init(
        configuration: MeshRouterConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "swift-cni.mesh")
    ) {
        self.configuration = configuration
        self.logger = logger
        node = MeshNode(configuration: configuration.node, eventLoopGroup: eventLoopGroup, logger: logger)
        var options = RouterCore.Options()
        options.discovery = configuration.discovery
        options.connectionLimit = configuration.node.connectionLimit
        options.defaultPort = configuration.node.listen.port == 0 ? MeshPeerAddress.defaultPort : configuration.node.listen.port
        options.quietPeriod = configuration.recalculationQuietPeriod
        options.maximumDelay = configuration.recalculationMaximumDelay
        options.sendDelay = configuration.gossipBatchDelay
        options.connectionDelay = configuration.connectionChangeDelay
        options.floodWhileIncomplete = configuration.floodWhileViewIncomplete
        options.incompleteViewDelay = configuration.incompleteViewRecalculationDelay
        core = RouterCore(identity: configuration.node.identity, options: options)
        core.directAddresses = Set(configuration.node.peers)
        (outboxStream, outbox) = AsyncStream<[RouterCore.Action]>.makeStream()
    }

    /// The local peer's name.
    public nonisolated var localName: PeerName { configuration.node.identity.name }

    // MARK: - Lifecycle

    /// Starts the node (listening, dialing the configured peers) and the router's loops.
    public func start() async throws {
        guard !running, !stopped else { return }
        running = true
        let events = node.events()
        let gossip = node.gossip()
        let node = self.node
        let outbox = self.outboxStream
        // One sender, so messages to a neighbour leave in the order they were decided. The
        // sends between two local actions go to the node's event loop in one hop.
        tasks.append(Task { [weak self] in
            for await actions in outbox {
                var sends: [MeshNode.OutgoingGossip] = []
                for action in actions {
                    if case .send(let peer, let channel, let payload) = action {
                        sends.append(MeshNode.OutgoingGossip(peer: peer, channel: channel, payload: payload))
                        continue
                    }
                    await Self.flush(&sends, node: node, router: self)
                    await self?.performLocal(action)
                }
                await Self.flush(&sends, node: node, router: self)
            }
        })
        tasks.append(Task { [weak self] in
            for await event in events { await self?.handle(event) }
        })
        tasks.append(Task { [weak self] in
            for await message in gossip { await self?.handle(message) }
        })
        let interval = configuration.gossipInterval
        tasks.append(Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.periodic()
            }
        })
        do { try await node.start() } catch {
            await stop()
            throw error
        }
    }

    /// Stops the node and the loops; ends every stream handed out. Safe to call more than once.
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        running = false
        await node.stop()
        timer?.cancel()
        repairTimer?.cancel()
        for task in tasks { task.cancel() }
        tasks = []
        outbox.finish()
        for continuation in routeSubscribers.values { continuation.finish() }
        for subscriber in messageSubscribers.values { subscriber.continuation.finish() }
        routeSubscribers = [:]
        messageSubscribers = [:]
    }

    /// Keeps `address` connected (a peer given at run time, like `weave connect`). Discovery
    /// never forgets it.
    public func connect(to address: MeshPeerAddress) async {
        core.addDirect(address)
        await node.connect(to: address)
    }

    /// Stops dialing `address` (an established connection stays until it breaks).
    public func forget(_ address: MeshPeerAddress) async {
        core.directAddresses.remove(address)
        await node.forget(address)
    }

    // MARK: - Routes for the data path

    /// The routes last published.
    public func routes() -> RouteTable { core.routes }

    /// The neighbour to hand traffic for `peer` to ("send to X via Y"); nil when unreachable.
    public func nextHop(to peer: PeerName) -> PeerName? { core.routes.nextHop(to: peer) }

    /// Route changes from now on, starting with the current table as one diff from empty, so a
    /// data path that applies diffs in order always holds the published table. Ends on stop.
    public func routeChanges() -> AsyncStream<RouteTableDiff> {
        let (stream, continuation) = AsyncStream<RouteTableDiff>.makeStream()
        guard !stopped else { continuation.finish(); return stream }
        continuation.yield(core.routes.changes(since: RouteTable(localPeer: localName)))
        let id = nextSubscriber
        nextSubscriber += 1
        routeSubscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribeRoutes(id) } }
        return stream
    }

    // MARK: - Messages of other channels

    /// Messages on `channel` delivered to this peer from now on (unicast to it, or broadcast by
    /// another peer). Ends on stop.
    public func messages(channel: String) -> AsyncStream<MeshRoutedMessage> {
        let (stream, continuation) = AsyncStream<MeshRoutedMessage>.makeStream()
        guard !stopped else { continuation.finish(); return stream }
        let id = nextSubscriber
        nextSubscriber += 1
        messageSubscribers[id] = (channel, continuation)
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribeMessages(id) } }
        return stream
    }

    /// Sends `payload` on `channel` to `peer`, hop by hop along the unicast routes. Throws
    /// ``MeshError/Code/unreachable`` when there is no route. Delivery is best effort (a
    /// connection that breaks on the way loses it), as in Weave.
    public func send(_ payload: [UInt8], channel: String, to peer: PeerName) throws(MeshError) {
        let actions = try core.send(payload, channel: channel, to: peer)
        perform(actions)
    }

    /// Sends `payload` on `channel` to every reachable peer, each once, along this peer's
    /// broadcast tree. Best effort.
    public func broadcast(_ payload: [UInt8], channel: String) throws(MeshError) {
        let actions = try core.broadcast(payload, channel: channel)
        perform(actions)
    }

    // MARK: - Status

    /// Peers, connections (state, encryption, why refused), routes and counters.
    public func status() async -> MeshRouterStatus {
        let topology = core.engine.status()
        let counters = core.counters
        let nodeStatus = await node.status()
        return MeshRouterStatus(node: nodeStatus, topology: topology, routing: counters)
    }

    /// The router's counters alone (cheaper than ``status()``).
    public func counters() -> MeshRouterCounters { core.counters }

    // MARK: - Events

    private func handle(_ event: MeshConnectionEvent) {
        let now = ContinuousClock.now
        switch event {
        case .established(let peer, let address, _, let outbound):
            perform(core.connectionEstablished(peer: peer.name, address: address, outbound: outbound, now: now))
        case .lost(let peer, _):
            perform(core.connectionLost(peer: peer.name, now: now))
        case .refused:
            break
        }
    }

    private func handle(_ message: MeshGossipMessage) {
        perform(core.received(channel: message.channel, payload: message.payload, from: message.from.name, now: .now))
    }

    private func periodic() {
        let now = ContinuousClock.now
        perform(core.collectGarbage(now: now, after: configuration.forgetUnreachableAfter))
        let neighbours = Array(core.connections.keys)
        if let peer = neighbours.randomElement() { perform(core.antiEntropy(to: peer)) }
    }

    /// Sends `peer` a digest after a short pause (it could not take a topology update); the
    /// answer brings whatever either side lacks. One pending at a time per peer.
    private func resynchronise(_ peer: PeerName) {
        guard running, resyncPending.insert(peer).inserted else { return }
        Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(200))
            await self?.resynchroniseNow(peer)
        }
    }

    private func resynchroniseNow(_ peer: PeerName) {
        resyncPending.remove(peer)
        guard running else { return }
        perform(core.antiEntropy(to: peer))
    }

    /// Sends gossip in one hop to the node. A lost connection: its loss event updates the
    /// topology. A backlogged neighbour missed a topology update: a digest exchange repairs it soon.
    private static func flush(_ sends: inout [MeshNode.OutgoingGossip], node: MeshNode, router: MeshRouter?) async {
        guard !sends.isEmpty else { return }
        let batch = sends
        sends = []
        let backlogged = await node.send(batch)
        for peer in backlogged where batch.contains(where: { $0.peer == peer && $0.channel == Self.topologyChannel }) {
            await router?.resynchronise(peer)
        }
    }

    /// Queues the actions and arms the recalculation timer when one is pending.
    func perform(_ actions: [RouterCore.Action]) {
        if !actions.isEmpty { outbox.yield(actions) }
        guard running, let deadline = core.deadline, timerDeadline.map({ deadline < $0 }) ?? true else { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = Task { [weak self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            guard !Task.isCancelled else { return }
            await self?.tick()
        }
    }

    /// What the sender task hands back: deliveries, route publications, discovery.
    private func performLocal(_ action: RouterCore.Action) async {
        switch action {
        case .send:
            break
        case .deliver(let message):
            for subscriber in messageSubscribers.values where subscriber.channel == message.channel {
                subscriber.continuation.yield(message)
            }
        case .routesChanged(let diff):
            for continuation in routeSubscribers.values { continuation.yield(diff) }
        case .connect(let address):
            await node.connect(to: address)
        case .forget(let address):
            await node.forget(address)
        }
    }

    private func unsubscribeRoutes(_ id: Int) { routeSubscribers[id] = nil }
    private func unsubscribeMessages(_ id: Int) { messageSubscribers[id] = nil }
}
