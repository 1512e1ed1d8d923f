#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import NetPrimitives

extension SpeakerCore {
    /// Feeds an event to a peer's state machine and carries out the actions.
    func handle(_ event: SessionEvent, for peer: PeerRuntime) {
        loop.preconditionInEventLoop()
        let before = peer.machine.state
        let actions = peer.machine.handle(event)
        if let negotiated = peer.machine.negotiated { peer.decoder?.context = negotiated.messageContext }
        if before != peer.machine.state {
            logger.debug("session state", metadata: ["peer": "\(peer.configuration.address)", "from": "\(before)", "to": "\(peer.machine.state)"])
        }
        for action in actions { perform(action, for: peer) }
        if peer.pending != nil, peer.machine.state == .openConfirm, let negotiated = peer.machine.negotiated {
            resolveCollision(peer, remoteIdentifier: negotiated.peerIdentifier, pendingActions: [])
        } else if let pending = peer.pending, peer.machine.state == .idle {
            peer.pending = nil
            if peer.machine.started {
                // Our connection failed: the peer's connection carries on as the session.
                promote(pending, for: peer, actions: [])
            } else {
                pending.channel.close(promise: nil)
            }
        }
    }

    func perform(_ action: SessionAction, for peer: PeerRuntime) {
        switch action {
        case .connect:
            connect(peer)
        case .disconnect:
            peer.generation += 1
            if let channel = peer.channel {
                peer.channel = nil
                close(channel, after: peer.lastWrite)
            }
        case .send(let message):
            send([message], to: peer)
        case .startTimer(let timer, let seconds):
            peer.timers[timer]?.cancel()
            peer.timers[timer] = loop.scheduleTask(in: .seconds(Int64(seconds))) { [weak peer] in
                guard let peer, self.peers[peer.configuration.address] === peer else { return }
                peer.timers[timer] = nil
                self.handle(.timerExpired(timer), for: peer)
            }
        case .stopTimer(let timer):
            peer.timers[timer]?.cancel()
            peer.timers[timer] = nil
        case .established(let negotiated):
            established(peer, negotiated)
        case .down(let reason):
            down(peer, reason)
        case .processUpdate(let update):
            process(update, from: peer)
        case .resendRoutes(let family):
            resend(family, to: peer)
        }
    }

    /// How long a closing connection may take to send its last message (a NOTIFICATION).
    static let closeGracePeriod = TimeAmount.seconds(2)

    /// Closes `channel` once `write` has gone out, and at the latest after
    /// ``closeGracePeriod``: to a peer that stopped reading (its TCP window stays shut) a write
    /// never completes, and waiting for it alone would keep the connection open forever, and
    /// ``stop()``, which waits for the last writes, would never return.
    func close(_ channel: Channel, after write: EventLoopFuture<Void>?) {
        guard let write else { return channel.close(promise: nil) }
        let deadline = loop.scheduleTask(in: Self.closeGracePeriod) { channel.close(promise: nil) }
        write.whenComplete { _ in
            deadline.cancel()
            channel.close(promise: nil)
        }
    }

    /// Opens a connection inside the socket context, then hands the descriptor to NIO.
    private func connect(_ peer: PeerRuntime) {
        peer.generation += 1
        let generation = peer.generation
        let configuration = peer.configuration
        let context = self.configuration.socketContext
        let timeout = max(500, configuration.connectRetryTime * 1000 - 100)
        Task {
            let descriptor: Int32
            do {
                descriptor = try await context.run {
                    try BGPSocket.connect(to: configuration.address, port: configuration.port, from: configuration.localAddress,
                                          password: configuration.password, timeoutMilliseconds: timeout)
                }
            } catch {
                self.loop.execute {
                    guard peer.generation == generation, self.peers[configuration.address] === peer else { return }
                    peer.lastError = "\(error)"
                    self.handle(.connectionFailed, for: peer)
                }
                return
            }
            self.loop.execute { self.connected(peer, descriptor: descriptor, generation: generation) }
        }
    }

    private func connected(_ peer: PeerRuntime, descriptor: Int32, generation: Int) {
        guard peer.generation == generation, peers[peer.configuration.address] === peer, peer.machine.state == .connect else {
            _ = Glibc.close(descriptor)
            return
        }
        ClientBootstrap(group: loop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try self.installHandlers(on: channel, peer: peer) }
            }
            .withConnectedSocket(descriptor)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    guard peer.generation == generation, peer.machine.state == .connect else {
                        channel.close(promise: nil)
                        return
                    }
                    peer.channel = channel
                    peer.channelIsOutbound = true
                    peer.lastWrite = nil
                    self.handle(.connectionSucceeded, for: peer)
                case .failure(let error):
                    guard peer.generation == generation else { return }
                    peer.lastError = "\(error)"
                    self.handle(.connectionFailed, for: peer)
                }
            }
    }

    /// Encodes and writes messages to the peer's connection, flushing once.
    func send(_ messages: [BGPMessage], to peer: PeerRuntime) {
        guard let channel = peer.channel, !messages.isEmpty else { return }
        let context = peer.machine.negotiated?.messageContext ?? MessageContext()
        var buffer = channel.allocator.buffer(capacity: 64 * messages.count)
        for message in messages {
            do {
                try message.write(to: &buffer, context: context)
                if case .keepalive = message { peer.nudge.keepaliveSent(at: .now()) }
                peer.messagesSent += 1
                if case .update = message { peer.updatesSent += 1 }
            } catch {
                logger.error("cannot encode message", metadata: ["peer": "\(peer.configuration.address)", "error": "\(error)"])
            }
        }
        peer.lastWrite = channel.writeAndFlush(buffer)
    }

    private func established(_ peer: PeerRuntime, _ negotiated: NegotiatedSession) {
        peer.establishedTransitions += 1
        peer.lastNegotiated = negotiated
        logger.info("session established", metadata: ["peer": "\(peer.configuration.address)", "hold": "\(negotiated.holdTime)"])
        let local = peer.channel?.localAddress.flatMap(Self.address(of:)).map(Self.unmapped)
        let result = rib.peerEstablished(peer.ribIndex) { ribPeer in
            ribPeer.routerID = negotiated.peerIdentifier
            ribPeer.fourOctetAS = negotiated.fourOctetAS
            ribPeer.families = Set(negotiated.families)
            if ribPeer.localIPv4 == nil { ribPeer.localIPv4 = local?.ipv4 }
            if ribPeer.localIPv6 == nil { ribPeer.localIPv6 = local?.ipv6 }
        }
        deliver(result)
        send(negotiated.families.map { .update(.endOfRIB($0)) }, to: peer)
        // A restarting peer has until its restart time to refresh its stale routes.
        if (rib.tables[peer.ribIndex]?.stale.isEmpty ?? true) == false {
            scheduleStaleSweep(peer, seconds: Int(negotiated.peerGracefulRestart?.restartTime ?? 120))
        }
    }

    private func down(_ peer: PeerRuntime, _ reason: SessionDownReason) {
        peer.lastDownReason = reason
        peer.cancelNudge()
        logger.info("session down", metadata: ["peer": "\(peer.configuration.address)", "reason": "\(reason)"])
        let helper = reason == .connectionLost && configuration.gracefulRestartTime > 0
        if helper, let restart = peer.lastNegotiated?.peerGracefulRestart {
            deliver(rib.peerDown(peer.ribIndex, keepStale: true))
            scheduleStaleSweep(peer, seconds: Int(restart.restartTime))
        } else {
            deliver(rib.peerDown(peer.ribIndex, keepStale: false))
        }
    }

    private func scheduleStaleSweep(_ peer: PeerRuntime, seconds: Int) {
        peer.staleTimer?.cancel()
        peer.staleTimer = loop.scheduleTask(in: .seconds(Int64(seconds))) { [weak peer] in
            guard let peer, self.peers[peer.configuration.address] === peer else { return }
            peer.staleTimer = nil
            self.deliver(self.rib.sweepStale(peer.ribIndex))
        }
    }
}
