import NIOCore
import NetPrimitives

extension MeshCore {
    // MARK: Connection lifecycle

    /// A TCP connection is up (dialed or accepted): check limits, start the handshake.
    func attach(_ channel: Channel, handler: MeshChannelHandler) {
        let remote = Self.peerAddress(channel.remoteAddress) ?? MeshPeerAddress("0.0.0.0", port: 0)
        guard running else {
            channel.close(promise: nil)
            return
        }
        if handler.target == nil {
            var refusal: MeshCloseReason?
            if !limiter.tryAcquire(now: .now()) {
                counters.acceptsRateLimited += 1
                refusal = MeshCloseReason(.rateLimited, "\(configuration.identity) accepts too many connections per second, try later")
            } else if connections.count >= configuration.connectionLimit {
                counters.acceptsOverLimit += 1
                refusal = MeshCloseReason(.connectionLimit, "\(configuration.identity) has reached its connection limit \(configuration.connectionLimit)")
            }
            if let refusal {
                var buffer = channel.allocator.buffer(capacity: 64)
                MeshFrame.write(MeshMessage.close(refusal).encoded(), to: &buffer)
                channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
                record(MeshRefusal(address: remote, peer: nil, outbound: false, reason: refusal), announce: false)
                return
            }
        }
        let machine = MeshConnectionStateMachine(configuration: .init(
            identity: configuration.identity, secret: configuration.secret,
            role: handler.target == nil ? .acceptor : .dialer, versions: configuration.protocolVersions,
            rekey: configuration.rekey, heartbeatTimeout: configuration.heartbeatTimeout))
        let connection = MeshConnection(channel: channel, machine: machine, remote: handler.target ?? remote, target: handler.target)
        handler.connection = connection
        connections[ObjectIdentifier(connection)] = connection
        let timeout = configuration.handshakeTimeout
        connection.handshakeTimer = loop.scheduleTask(in: timeout) { [self] in
            perform(connection.machine.handshakeTimedOut(after: timeout), on: connection)
        }
        perform(connection.machine.start(), on: connection)
    }

    func received(_ frame: [UInt8], on connection: MeshConnection) {
        perform(connection.machine.receive(frame, now: .now()), on: connection)
    }

    func frameRejected(_ error: MeshError, on connection: MeshConnection) {
        counters.framesRejected += 1
        perform(connection.machine.close(MeshCloseReason(.protocolViolation, error.message)), on: connection)
    }

    func transportClosed(_ connection: MeshConnection) {
        perform(connection.machine.transportClosed(), on: connection)
        finish(connection, reason: connection.machine.closeReason ?? MeshCloseReason(.connectionLost, "connection closed"))
    }

    func perform(_ actions: [MeshConnectionStateMachine.Action], on connection: MeshConnection) {
        for action in actions {
            switch action {
            case .send(let body):
                var buffer = connection.channel.allocator.buffer(capacity: body.count + 4)
                MeshFrame.write(body, to: &buffer)
                if batching {
                    connection.lastWrite = connection.channel.write(buffer)
                    unflushed[ObjectIdentifier(connection)] = connection
                } else {
                    connection.lastWrite = connection.channel.writeAndFlush(buffer)
                }
            case .established(let established):
                didEstablish(connection, established)
            case .deliver(let channel, let payload):
                guard let peer = connection.peer else { continue }
                counters.gossipReceived += 1
                let message = MeshGossipMessage(from: peer, channel: channel, payload: payload)
                for continuation in gossipSubscribers.values {
                    if case .dropped = continuation.yield(message) { counters.gossipDroppedSlowConsumer += 1 }
                }
            case .dropped(let rejection):
                counters.count(rejection)
                connection.dropped[rejection, default: 0] += 1
            case .close(let reason):
                closeChannel(connection)
                finish(connection, reason: reason)
            }
        }
    }

    /// Half-closes after the last write (our close frame) so the peer reads it, then closes
    /// for good after a short grace.
    private func closeChannel(_ connection: MeshConnection) {
        let channel = connection.channel
        let written = connection.lastWrite ?? loop.makeSucceededVoidFuture()
        written.whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    /// The connection is over: forget it, tell observers, schedule the target's next attempt.
    func finish(_ connection: MeshConnection, reason: MeshCloseReason) {
        guard !connection.finished else { return }
        connection.finished = true
        connection.cancelTimers()
        connections[ObjectIdentifier(connection)] = nil
        let peer = connection.peer ?? connection.machine.peerHello?.identity
        let uptime = connection.establishedAt.map { NIODeadline.now() - $0 }
        if let peer, let current = established[peer.name], current === connection {
            established[peer.name] = nil
            emit(.lost(peer: peer, reason: reason))
            logger.info("mesh connection lost", metadata: ["peer": "\(peer)", "reason": "\(reason)"])
            if running { wakeTargets(coveredBy: peer.name) }
        } else if connection.establishedAt == nil, reason.kind != .shutdown, reason.kind != .duplicate {
            counters.handshakesFailed += 1
            record(MeshRefusal(address: connection.remote, peer: peer, outbound: connection.outbound, reason: reason))
        }
        guard running, let address = connection.target, targets[address] != nil else { return }
        if let uptime { targets[address]?.backoff.connectionEnded(after: uptime) }
        if reason.kind == .duplicate, let peer {
            targets[address]?.coveredBy = peer.name
        }
        retryLater(address, after: reason)
    }

    // MARK: Establishment and duplicates

    private func didEstablish(_ connection: MeshConnection, _ established: MeshConnectionStateMachine.Established) {
        let peer = established.peer
        connection.peer = peer
        connection.establishedAt = .now()
        connection.handshakeTimer?.cancel()
        connection.handshakeTimer = nil
        let interval = configuration.heartbeatInterval
        connection.heartbeat = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            perform(connection.machine.heartbeatTick(now: .now()), on: connection)
        }
        if let keys = established.keys {
            connection.dataChannel = MeshDataChannel(peer: peer, keys: keys, policy: configuration.rekey)
        }
        if let existing = self.established[peer.name], existing !== connection {
            guard keepNew(connection, over: existing) else {
                perform(connection.machine.close(MeshCloseReason(.duplicate, "duplicate connection between \(configuration.identity) and \(peer), keeping the other one")), on: connection)
                return
            }
            self.established[peer.name] = connection
            if existing.peer?.uid != peer.uid, let old = existing.peer {
                emit(.lost(peer: old, reason: MeshCloseReason(.connectionLost, "peer \(old) restarted")))
            }
            perform(existing.machine.close(MeshCloseReason(.duplicate, "duplicate connection between \(configuration.identity) and \(peer), keeping the other one")), on: existing)
        } else {
            self.established[peer.name] = connection
        }
        if let address = connection.target {
            targets[address]?.state = .connected
            targets[address]?.coveredBy = nil
            targets[address]?.lastError = nil
            targets[address]?.nextAttempt = nil
        }
        logger.info("mesh connection established", metadata: ["peer": "\(peer)", "address": "\(connection.remote)", "encrypted": "\(established.encrypted)"])
        emit(.established(peer: peer, address: connection.remote, encrypted: established.encrypted, outbound: connection.outbound))
    }

    /// Duplicate resolution, the same on both ends: a restarted peer (new UID) wins; otherwise
    /// the connection dialed by the lower peer name is kept; otherwise the older one.
    private func keepNew(_ new: MeshConnection, over existing: MeshConnection) -> Bool {
        guard let peer = new.peer else { return false }
        if existing.peer?.uid != peer.uid { return true }
        let preferredDialer = min(configuration.identity.name, peer.name)
        func dialer(_ connection: MeshConnection) -> PeerName { connection.outbound ? configuration.identity.name : peer.name }
        return dialer(new) == preferredDialer && dialer(existing) != preferredDialer
    }

    // MARK: Sending

    func send(_ payload: [UInt8], channel: String, to peer: PeerName) throws(MeshError) {
        guard let connection = established[peer] else {
            throw MeshError(.notConnected, "no established connection to \(peer)")
        }
        guard connection.channel.isWritable else {
            counters.gossipRefusedBacklog += 1
            throw MeshError(.peerBacklogged, "\(peer) is not reading: its write buffer is full")
        }
        counters.gossipSent += 1
        perform(connection.machine.sendGossip(channel: channel, payload: payload, now: .now()), on: connection)
    }

    /// Sends several gossip messages with one flush per connection at the end (one write
    /// system call per connection instead of one per message). Returns the peers that refused
    /// some as backlogged; messages to peers without a connection are dropped.
    func send(_ messages: [MeshNode.OutgoingGossip]) -> Set<PeerName> {
        var backlogged: Set<PeerName> = []
        batching = true
        for message in messages {
            do throws(MeshError) { try send(message.payload, channel: message.channel, to: message.peer) } catch {
                if error.code == .peerBacklogged { backlogged.insert(message.peer) }
            }
        }
        batching = false
        for connection in unflushed.values { connection.channel.flush() }
        unflushed.removeAll(keepingCapacity: true)
        return backlogged
    }

    /// Writes raw frame bodies on the connection to `peer` (tests: tampered and replayed records).
    func sendRawForTesting(_ bodies: [[UInt8]], to peer: PeerName) throws(MeshError) {
        guard let connection = established[peer] else { throw MeshError(.notConnected, "no connection to \(peer)") }
        perform(bodies.map { .send($0) }, on: connection)
    }

    static func peerAddress(_ address: SocketAddress?) -> MeshPeerAddress? {
        guard let address, let text = address.ipAddress, let port = address.port,
              let ip = try? IPAddress(parsing: text) else { return nil }
        return MeshPeerAddress(ip, port: port)
    }
}
