import Logging
import NIOCore
import NIOPosix
import NetPrimitives

/// The speaker's engine: RIB, peers, sessions and sockets.
///
/// `@unchecked Sendable` because it is confined to `loop`: every method runs on that event
/// loop (all channels of the speaker are bound to it, and ``BGPSpeaker`` hops onto it), which
/// serialises all access to the mutable state.
final class SpeakerCore: @unchecked Sendable {
    let loop: EventLoop
    let configuration: BGPSpeaker.Configuration
    var logger: Logger
    var rib: RoutingInformationBase
    var peers: [IPAddress: PeerRuntime] = [:]
    var peersByIndex: [Int: PeerRuntime] = [:]
    var listener: Channel?
    var listenerDescriptor: Int32?
    var subscribers: [Int: AsyncStream<[BestPathChange]>.Continuation] = [:]
    var nextSubscriber = 0
    var running = false
    /// Set by ``stop()``: a subscriber arriving afterwards gets a finished stream, not one
    /// nothing would ever finish.
    var stopped = false

    init(loop: EventLoop, configuration: BGPSpeaker.Configuration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.rib = RoutingInformationBase(
            localAS: configuration.localAS, routerID: configuration.routerID, clusterID: configuration.clusterID,
            defaultLocalPreference: configuration.defaultLocalPreference)
    }

    // MARK: Lifecycle

    /// Opens the listener (inside the socket context) and starts every configured peer.
    func start() async throws {
        if let address = configuration.listenAddress {
            let passwords: [(IPAddress, String)] = try await loop.submit {
                self.peers.values.compactMap { peer in peer.configuration.password.map { (peer.configuration.address, $0) } }
            }.get()
            let port = configuration.listenPort
            let descriptor = try await configuration.socketContext.run {
                try BGPSocket.listen(address: address, port: port, passwords: passwords)
            }
            let channel = try await ServerBootstrap(group: loop)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try self.installHandlers(on: channel, peer: nil) }
                }
                .withBoundSocket(descriptor).get()
            try await loop.submit {
                self.listener = channel
                self.listenerDescriptor = descriptor
            }.get()
        }
        try await loop.submit {
            self.running = true
            self.stopped = false
            for peer in self.peers.values { self.handle(.start, for: peer) }
        }.get()
    }

    /// Stops every session (Cease, administrative shutdown) and closes the listener.
    func stop() -> EventLoopFuture<Void> {
        loop.preconditionInEventLoop()
        running = false
        stopped = true
        var closing: [EventLoopFuture<Void>] = []
        for peer in peers.values {
            handle(.stop(NotificationMessage(errorCode: 6, errorSubcode: NotificationMessage.CeaseSubcode.administrativeShutdown)), for: peer)
            peer.cancelTimers()
            if let write = peer.lastWrite { closing.append(write.flatMapError { _ in self.loop.makeSucceededVoidFuture() }) }
        }
        if let listener {
            closing.append(listener.close().flatMapError { _ in self.loop.makeSucceededVoidFuture() })
            self.listener = nil
            self.listenerDescriptor = nil
        }
        for continuation in subscribers.values { continuation.finish() }
        subscribers = [:]
        return EventLoopFuture.andAllComplete(closing, on: loop)
    }

    // MARK: Peers

    func addPeer(_ configuration: BGPSpeaker.PeerConfiguration) throws {
        loop.preconditionInEventLoop()
        guard peers[configuration.address] == nil else {
            throw BGPError(.invalidConfiguration, "peer \(configuration.address) already exists")
        }
        guard configuration.holdTime == 0 || configuration.holdTime >= 3, configuration.holdTime <= 65535 else {
            throw BGPError(.invalidConfiguration, "hold time \(configuration.holdTime) must be 0 or 3...65535")
        }
        guard configuration.connectRetryTime >= 1 else {
            throw BGPError(.invalidConfiguration, "connect retry time must be at least 1 s")
        }
        if let password = configuration.password, let descriptor = listenerDescriptor {
            try BGPSocket.setPassword(password, peer: configuration.address, on: descriptor)
        }
        var capabilities: [Capability] = configuration.families.map { .multiprotocol($0) } + [.routeRefresh]
        if self.configuration.gracefulRestartTime > 0 {
            capabilities.append(.gracefulRestart(.init(
                restartTime: self.configuration.gracefulRestartTime,
                families: configuration.families.map { .init(family: $0, forwardingStatePreserved: false) })))
        }
        let machine = SessionStateMachine(configuration: .init(
            localAS: self.configuration.localAS, localIdentifier: self.configuration.routerID, peerAS: configuration.asNumber,
            holdTime: configuration.holdTime, connectRetryTime: configuration.connectRetryTime,
            openHoldTime: max(configuration.holdTime, 3 * configuration.connectRetryTime, 30), passive: configuration.passive,
            capabilities: capabilities))
        let ribPeer = RIBPeer(
            address: configuration.address, asNumber: configuration.asNumber, routerID: IPv4Address(0),
            isInternal: configuration.asNumber == self.configuration.localAS,
            isRouteReflectorClient: configuration.routeReflectorClient, localIPv4: configuration.localAddress?.ipv4,
            localIPv6: configuration.nextHopIPv6 ?? configuration.localAddress?.ipv6, families: Set(configuration.families),
            maximumPrefixes: configuration.maximumPrefixes, fourOctetAS: true, exportFilter: configuration.exportFilter,
            importFilter: configuration.importFilter)
        let index = rib.addPeer(ribPeer)
        let peer = PeerRuntime(configuration: configuration, machine: machine, ribIndex: index)
        peers[configuration.address] = peer
        peersByIndex[index] = peer
        if running { handle(.start, for: peer) }
    }

    func removePeer(_ address: IPAddress) throws {
        loop.preconditionInEventLoop()
        guard let peer = peers[address] else { throw BGPError(.unknownPeer, "no peer \(address)") }
        handle(.stop(NotificationMessage(errorCode: 6, errorSubcode: NotificationMessage.CeaseSubcode.peerDeconfigured)), for: peer)
        peer.cancelTimers()
        peers[address] = nil
        peersByIndex[peer.ribIndex] = nil
        deliver(rib.removePeer(peer.ribIndex))
        if peer.configuration.password != nil, let descriptor = listenerDescriptor {
            try? BGPSocket.setPassword("", peer: address, on: descriptor)
        }
    }

    func status(of peer: PeerRuntime) -> BGPSpeaker.PeerStatus {
        let tables = rib.tables[peer.ribIndex]
        return BGPSpeaker.PeerStatus(
            address: peer.configuration.address, asNumber: peer.configuration.asNumber, state: peer.machine.state,
            negotiated: peer.machine.state == .established ? peer.machine.negotiated : nil,
            messagesReceived: peer.messagesReceived, messagesSent: peer.messagesSent, updatesReceived: peer.updatesReceived,
            updatesSent: peer.updatesSent, prefixesReceived: tables?.adjacencyIn.count ?? 0,
            prefixesAdvertised: tables?.adjacencyOut.count ?? 0, stalePrefixes: tables?.stale.count ?? 0,
            establishedTransitions: peer.establishedTransitions, lastDownReason: peer.lastDownReason, lastError: peer.lastError)
    }

    // MARK: Channels

    func installHandlers(on channel: Channel, peer: PeerRuntime?) throws {
        let decoder = BGPMessageDecoder()
        let handler = PeerChannelHandler(core: self, peer: peer, decoder: decoder)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        try channel.pipeline.syncOperations.addHandler(handler)
        peer?.decoder = decoder
    }

    /// An inbound connection: find its peer, resolve collisions (RFC 4271 §6.8).
    func accepted(_ channel: Channel, handler: PeerChannelHandler) {
        guard let remote = channel.remoteAddress.flatMap(Self.address(of:)).map(Self.unmapped),
            let peer = peers[remote]
        else {
            logger.info("refusing connection from unknown peer", metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
            channel.close(promise: nil)
            return
        }
        switch peer.machine.state {
        case .idle, .connect, .active:
            peer.generation += 1
            if let old = peer.channel { old.close(promise: nil) }
            attach(channel, handler: handler, to: peer)
            peer.channelIsOutbound = false
            handle(.connectionAccepted, for: peer)
        case .openSent, .openConfirm:
            guard peer.pending == nil else { return reject(channel) }
            // Run the new connection alongside until one side's BGP identifier is known.
            var machine = SessionStateMachine(configuration: peer.machine.configuration)
            _ = machine.handle(.start)
            _ = machine.handle(.connectionAccepted)
            handler.peer = peer
            peer.pending = PendingConnection(channel: channel, handler: handler, machine: machine)
            var buffer = channel.allocator.buffer(capacity: 64)
            try? BGPMessage.open(machine.openMessage).write(to: &buffer)
            channel.writeAndFlush(buffer, promise: nil)
            if let identifier = peer.machine.negotiated?.peerIdentifier { resolveCollision(peer, remoteIdentifier: identifier, pendingActions: []) }
        case .established:
            reject(channel)
        }
    }

    /// RFC 4271 §6.8: keep the connection opened by the side with the higher BGP identifier.
    func resolveCollision(_ peer: PeerRuntime, remoteIdentifier: IPv4Address, pendingActions: [SessionAction]) {
        guard let pending = peer.pending else { return }
        let winner = SessionStateMachine.resolveCollision(localIdentifier: configuration.routerID, remoteIdentifier: remoteIdentifier)
        let pendingWins = (winner == .remotelyInitiated) == peer.channelIsOutbound
        peer.pending = nil
        guard pendingWins else { return reject(pending.channel) }
        logger.debug("connection collision: keeping the peer's connection", metadata: ["peer": "\(peer.configuration.address)"])
        // Close ours with Cease/collision, without reporting the session down (it never was up).
        if let old = peer.channel {
            peer.channel = nil
            reject(old)
        }
        promote(pending, for: peer, actions: pendingActions)
    }

    /// Makes the collision candidate the peer's connection and carries out its actions.
    func promote(_ pending: PendingConnection, for peer: PeerRuntime, actions: [SessionAction]) {
        for timer in [SessionTimer.hold, .keepalive, .connectRetry] {
            peer.timers[timer]?.cancel()
            peer.timers[timer] = nil
        }
        peer.generation += 1
        peer.machine = pending.machine
        attach(pending.channel, handler: pending.handler, to: peer)
        peer.channelIsOutbound = false
        if let negotiated = peer.machine.negotiated { peer.decoder?.context = negotiated.messageContext }
        let pendingActions = actions.isEmpty
            ? [SessionAction.startTimer(.hold, seconds: peer.machine.configuration.openHoldTime)] : actions
        for action in pendingActions { perform(action, for: peer) }
    }

    /// A message on the collision candidate connection.
    func receivedOnPending(_ message: BGPMessage, peer: PeerRuntime) {
        guard var pending = peer.pending else { return }
        let actions = pending.machine.handle(.messageReceived(message))
        peer.pending = pending
        switch pending.machine.state {
        case .openConfirm:
            resolveCollision(peer, remoteIdentifier: pending.machine.negotiated!.peerIdentifier, pendingActions: actions)
        case .openSent:
            break
        default:
            peer.pending = nil
            pending.channel.close(promise: nil)
        }
    }

    /// The IP address of a socket address, from its raw bytes.
    static func address(of socketAddress: SocketAddress) -> IPAddress? {
        switch socketAddress {
        case .v4(let address):
            return .v4(IPv4Address(UInt32(bigEndian: address.address.sin_addr.s_addr)))
        case .v6(let address):
            var raw = address.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            return IPv6Address(bytes: bytes).map { .v6($0) }
        default:
            return nil
        }
    }

    /// An IPv4-mapped IPv6 address (a dual-stack listener on "::") as the IPv4 address.
    static func unmapped(_ address: IPAddress) -> IPAddress {
        guard case .v6(let v6) = address, v6.high == 0, v6.low >> 32 == 0xFFFF else { return address }
        return .v4(IPv4Address(UInt32(truncatingIfNeeded: v6.low)))
    }

    private func reject(_ channel: Channel) {
        var buffer = channel.allocator.buffer(capacity: 21)
        try? BGPMessage.notification(.init(errorCode: 6, errorSubcode: NotificationMessage.CeaseSubcode.connectionCollisionResolution))
            .write(to: &buffer)
        close(channel, after: channel.writeAndFlush(buffer))
    }

    func attach(_ channel: Channel, handler: PeerChannelHandler, to peer: PeerRuntime) {
        handler.peer = peer
        peer.channel = channel
        peer.decoder = handler.decoder
        peer.lastWrite = nil
    }

    func received(_ message: BGPMessage, on channel: Channel, peer: PeerRuntime) {
        if let pending = peer.pending, pending.channel === channel { return receivedOnPending(message, peer: peer) }
        guard peer.channel === channel else { return }
        peer.messagesReceived += 1
        if case .update = message { peer.updatesReceived += 1 }
        handle(.messageReceived(message), for: peer)
        if case .update = message, peer.machine.state == .established, peer.machine.negotiated?.holdTime ?? 0 > 0 {
            peer.nudge.updateReceived(at: .now())
            if peer.nudgeTimer == nil { nudgeIfDue(peer) }
        }
    }

    /// Sends the KEEPALIVE that ends a peer's burst of UPDATEs once it is due (see
    /// ``UpdateBurstNudge``), or schedules the next check.
    func nudgeIfDue(_ peer: PeerRuntime) {
        peer.nudgeTimer = nil
        guard peer.machine.state == .established, peer.channel != nil else { return peer.cancelNudge() }
        switch peer.nudge.decision(at: .now()) {
        case .idle:
            break
        case .send:
            send([.keepalive], to: peer)
            // Like any KEEPALIVE sent, it restarts the periodic one (RFC 4271 §8.2.2), which
            // keeps the two at least a keepalive interval apart.
            if let interval = peer.machine.negotiated?.keepaliveInterval, interval > 0 {
                perform(.startTimer(.keepalive, seconds: interval), for: peer)
            }
        case .wait(let deadline):
            peer.nudgeTimer = loop.scheduleTask(deadline: deadline) { [weak peer] in
                guard let peer, self.peers[peer.configuration.address] === peer else { return }
                self.nudgeIfDue(peer)
            }
        }
    }

    func decodingFailed(_ error: BGPError, on channel: Channel, peer: PeerRuntime) {
        guard peer.channel === channel else { return channel.close(promise: nil) }
        peer.lastError = error.description
        logger.warning("malformed message", metadata: ["peer": "\(peer.configuration.address)", "error": "\(error)"])
        handle(.decodingFailed(error), for: peer)
    }

    func closed(_ channel: Channel, peer: PeerRuntime) {
        if let pending = peer.pending, pending.channel === channel { peer.pending = nil }
        guard peer.channel === channel else { return }
        peer.channel = nil
        handle(.connectionFailed, for: peer)
    }
}
