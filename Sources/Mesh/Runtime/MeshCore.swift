import Logging
import NIOCore
import NIOPosix
import NetPrimitives

extension MeshError.Code {
    /// No established connection to the peer.
    public static let notConnected = MeshError.Code("not connected")
    /// Listening or dialing failed.
    public static let socketFailed = MeshError.Code("socket failed")
    /// The peer does not read as fast as we send: its connection's write buffer is above the
    /// high-water mark. Gossip is refused until it drains (the caller sends again later).
    public static let peerBacklogged = MeshError.Code("peer backlogged")
}

/// The node's state and logic, confined to one event loop (every method runs there).
///
/// `@unchecked Sendable`: only touched on ``loop``.
final class MeshCore: @unchecked Sendable {
    let loop: any EventLoop
    let configuration: MeshConfiguration
    let logger: Logger
    var running = false
    var stopped = false
    var listener: Channel?
    var listening: MeshPeerAddress?
    var connections: [ObjectIdentifier: MeshConnection] = [:]
    var established: [PeerName: MeshConnection] = [:]
    var targets: [MeshPeerAddress: MeshTarget] = [:]
    var limiter: AcceptRateLimiter
    var counters = MeshCounters()
    var refusals: [MeshRefusal] = []
    var eventSubscribers: [Int: AsyncStream<MeshConnectionEvent>.Continuation] = [:]
    var gossipSubscribers: [Int: AsyncStream<MeshGossipMessage>.Continuation] = [:]
    var nextSubscriber = 0
    /// While set (inside a batch send), frames are written without a flush and their
    /// connections collected in ``unflushed``, flushed once at the end of the batch.
    var batching = false
    var unflushed: [ObjectIdentifier: MeshConnection] = [:]
    static let refusalsKept = 32
    /// Receive buffers per connection: NIO keeps each connection's last one for the next read,
    /// at the largest size it ever grew to (its default grows to 64 KiB). Gossip is mostly
    /// small messages (under 1 KiB on average in a 300-peer cold start) with rare large digest
    /// answers, and a node may hold hundreds of connections, so reads stay at most 1 KiB; a
    /// larger frame takes a few reads. (At 8 KiB, a 300-peer mesh in one process kept about
    /// 10 MB in these buffers: Documentation/Performance-Mesh.md.)
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 1024)

    init(loop: any EventLoop, configuration: MeshConfiguration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.limiter = AcceptRateLimiter(burst: configuration.acceptBurst, perSecond: configuration.acceptsPerSecond)
    }

    // MARK: Lifecycle

    func start() -> EventLoopFuture<Void> {
        guard !running else { return loop.makeSucceededVoidFuture() }
        running = true
        stopped = false
        let listen = configuration.listen
        return ServerBootstrap(group: loop)
            .serverChannelOption(.backlog, value: 128)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.recvAllocator, value: Self.receiveBuffers)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.addHandlers(to: channel, target: nil) }
            }
            .bind(host: listen.address.description, port: listen.port)
            .flatMapErrorThrowing { [self] error in
                running = false
                throw MeshError(.socketFailed, "cannot listen on \(listen): \(error)")
            }
            .map { [self] channel in
                listener = channel
                if let local = channel.localAddress, let port = local.port {
                    listening = MeshPeerAddress(listen.address, port: port)
                }
                for address in configuration.peers where targets[address] == nil {
                    targets[address] = MeshTarget(backoff: configuration.backoff)
                }
                for address in targets.keys.sorted() { dial(address) }
            }
    }

    func stop() -> EventLoopFuture<Void> {
        running = false
        stopped = true
        for (address, target) in targets {
            target.timer?.cancel()
            targets[address]?.timer = nil
        }
        targets = [:]
        var closes: [EventLoopFuture<Void>] = []
        for connection in connections.values {
            perform(connection.machine.close(MeshCloseReason(.shutdown, "\(configuration.identity) is shutting down")), on: connection)
            closes.append(connection.channel.closeFuture)
        }
        if let listener { closes.append(listener.close()) }
        listener = nil
        return EventLoopFuture.andAllComplete(closes, on: loop).map { [self] in
            for continuation in eventSubscribers.values { continuation.finish() }
            for continuation in gossipSubscribers.values { continuation.finish() }
            eventSubscribers = [:]
            gossipSubscribers = [:]
        }
    }

    func addHandlers(to channel: Channel, target: MeshPeerAddress?) throws {
        let handler = MeshChannelHandler(core: self, target: target)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(MeshFrameDecoder(maximumSize: configuration.maximumFrameSize)))
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    // MARK: Targets and dialing

    /// Remembers `address`; dials it now when running (else at ``start()``).
    func addTarget(_ address: MeshPeerAddress) {
        if var target = targets[address] {
            guard target.state == .waiting || target.state == .never else { return }
            target.timer?.cancel()
            target.backoff.reset()
            targets[address] = target
        } else {
            targets[address] = MeshTarget(backoff: configuration.backoff)
        }
        if running { dial(address) }
    }

    func forget(_ address: MeshPeerAddress) {
        targets[address]?.timer?.cancel()
        targets[address] = nil
    }

    func dial(_ address: MeshPeerAddress) {
        guard running, var target = targets[address] else { return }
        target.timer = nil
        target.nextAttempt = nil
        if let covering = target.coveredBy, established[covering] != nil {
            target.state = .coveredByInbound
            targets[address] = target
            return
        }
        target.coveredBy = nil
        guard connections.count < configuration.connectionLimit else {
            targets[address] = target
            retryLater(address, after: MeshCloseReason(.connectionLimit, "connection limit \(configuration.connectionLimit) reached"))
            return
        }
        target.state = .connecting
        targets[address] = target
        var bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.recvAllocator, value: Self.receiveBuffers)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.addHandlers(to: channel, target: address) }
            }
        if configuration.dialFromListenAddress, !configuration.listen.address.isUnspecified,
           let local = try? SocketAddress(ipAddress: configuration.listen.address.description, port: 0) {
            bootstrap = bootstrap.bind(to: local)
        }
        bootstrap.connect(host: address.address.description, port: address.port).whenFailure { [self] error in
            guard running, targets[address]?.state == .connecting else { return }
            let reason = MeshCloseReason(.connectionLost, "cannot connect to \(address): \(error)")
            record(MeshRefusal(address: address, peer: nil, outbound: true, reason: reason))
            retryLater(address, after: reason)
        }
    }

    /// Schedules the next attempt with the target's backoff.
    func retryLater(_ address: MeshPeerAddress, after reason: MeshCloseReason?) {
        guard running, var target = targets[address] else { return }
        target.timer?.cancel()
        target.lastError = reason ?? target.lastError
        if reason?.kind == .connectionToSelf {
            target.state = .never
            targets[address] = target
            return
        }
        target.state = target.coveredBy == nil ? .waiting : .coveredByInbound
        let delay = target.backoff.nextDelay()
        target.nextAttempt = .now() + delay
        target.timer = loop.scheduleTask(in: delay) { [self] in dial(address) }
        targets[address] = target
    }

    /// `peer` lost its connection: dial again the addresses that were covered by it.
    func wakeTargets(coveredBy peer: PeerName) {
        for (address, target) in targets where target.coveredBy == peer && target.state == .coveredByInbound {
            target.timer?.cancel()
            targets[address]?.coveredBy = nil
            targets[address]?.state = .waiting
            dial(address)
        }
    }

    // MARK: Observers

    func emit(_ event: MeshConnectionEvent) {
        for continuation in eventSubscribers.values { continuation.yield(event) }
    }

    /// Keeps a refusal for status; `announce` also emits an event and logs at info level (limit
    /// refusals of inbound floods are only kept and counted, so a flood cannot grow the event
    /// stream or the log).
    func record(_ refusal: MeshRefusal, announce: Bool = true) {
        refusals.append(refusal)
        if refusals.count > Self.refusalsKept { refusals.removeFirst(refusals.count - Self.refusalsKept) }
        guard announce else {
            logger.debug("mesh connection refused", metadata: ["address": "\(refusal.address)", "reason": "\(refusal.reason)"])
            return
        }
        emit(.refused(address: refusal.address, peer: refusal.peer, reason: refusal.reason))
        logger.info("mesh connection refused", metadata: ["address": "\(refusal.address)", "reason": "\(refusal.reason)"])
    }

    func subscribeEvents(_ continuation: AsyncStream<MeshConnectionEvent>.Continuation) {
        guard !stopped else { continuation.finish(); return }
        let id = nextSubscriber
        nextSubscriber += 1
        eventSubscribers[id] = continuation
        continuation.onTermination = { [self] _ in loop.execute { self.eventSubscribers[id] = nil } }
    }

    func subscribeGossip(_ continuation: AsyncStream<MeshGossipMessage>.Continuation) {
        guard !stopped else { continuation.finish(); return }
        let id = nextSubscriber
        nextSubscriber += 1
        gossipSubscribers[id] = continuation
        continuation.onTermination = { [self] _ in loop.execute { self.gossipSubscribers[id] = nil } }
    }

    func status() -> MeshNodeStatus {
        let now = NIODeadline.now()
        let connectionStatuses = connections.values.map { connection in
            MeshConnectionStatus(
                address: connection.remote, outbound: connection.outbound, state: connection.machine.state,
                peer: connection.machine.peerHello?.identity, encrypted: connection.machine.isEncrypted,
                protocolVersion: connection.machine.version,
                establishedSeconds: connection.establishedAt.map { Double((now - $0).nanoseconds) / 1e9 },
                recordsDropped: Dictionary(uniqueKeysWithValues: connection.dropped.map { ($0.key.rawValue, $0.value) }))
        }.sorted { ($0.address, $0.outbound ? 1 : 0) < ($1.address, $1.outbound ? 1 : 0) }
        let targetStatuses = targets.map { address, target in
            MeshTargetStatus(address: address, state: target.state, lastError: target.lastError,
                             nextAttemptSeconds: target.nextAttempt.map { Double(($0 - now).nanoseconds) / 1e9 })
        }.sorted { $0.address < $1.address }
        return MeshNodeStatus(
            identity: configuration.identity, listening: listening, encryption: configuration.secret != nil,
            connections: connectionStatuses, targets: targetStatuses, recentRefusals: refusals, counters: counters)
    }
}
