import NetPrimitives

/// The BGP finite state machine of RFC 4271 §8 for one connection: a pure value, events in,
/// actions out. It owns no sockets or timers; its owner performs the actions.
///
/// Deviation from the RFC, as most implementations do: after an error the machine returns to
/// Idle and restarts itself when the connect-retry timer fires (an automatic start with the
/// connect-retry time as idle hold time), and a failed outgoing connect waits in Active.
public struct SessionStateMachine: Hashable, Sendable {
    public struct Configuration: Hashable, Sendable {
        public var localAS: UInt32
        public var localIdentifier: IPv4Address
        /// The expected peer AS.
        public var peerAS: UInt32
        /// Proposed hold time, seconds (0 or ≥ 3).
        public var holdTime: Int
        public var connectRetryTime: Int
        /// The hold time while waiting for the peer's OPEN (RFC 4271 suggests 4 minutes).
        public var openHoldTime: Int
        /// Never connect; only accept (passive peer).
        public var passive: Bool
        /// Capabilities to announce (the 4-octet AS capability is added automatically).
        public var capabilities: [Capability]

        public init(
            localAS: UInt32, localIdentifier: IPv4Address, peerAS: UInt32, holdTime: Int = 90,
            connectRetryTime: Int = 120, openHoldTime: Int = 240, passive: Bool = false,
            capabilities: [Capability] = [.multiprotocol(.ipv4Unicast), .routeRefresh]
        ) {
            self.localAS = localAS
            self.localIdentifier = localIdentifier
            self.peerAS = peerAS
            self.holdTime = holdTime
            self.connectRetryTime = connectRetryTime
            self.openHoldTime = openHoldTime
            self.passive = passive
            self.capabilities = capabilities
        }
    }

    public let configuration: Configuration
    public private(set) var state: SessionState = .idle
    /// Whether the session is administratively started (it restarts itself after errors).
    public private(set) var started = false
    /// Set once the peer's OPEN is accepted.
    public private(set) var negotiated: NegotiatedSession?

    public init(configuration: Configuration) { self.configuration = configuration }

    /// The OPEN this machine sends.
    public var openMessage: OpenMessage {
        OpenMessage(asNumber: configuration.localAS, holdTime: UInt16(configuration.holdTime),
                    identifier: configuration.localIdentifier, capabilities: configuration.capabilities)
    }

    /// Feeds one event and returns the actions to perform, in order.
    public mutating func handle(_ event: SessionEvent) -> [SessionAction] {
        switch (state, event) {
        case (.idle, .start):
            started = true
            return begin()
        case (.idle, .timerExpired(.connectRetry)):
            return started ? begin() : []
        case (.idle, .connectionAccepted):
            // Refuse while stopped; once started, an inbound connection is welcome.
            guard started else { return [.disconnect] }
            return openConnection()
        case (.idle, .stop):
            started = false
            return [.stopTimer(.connectRetry)]
        case (.idle, _):
            return []

        case (_, .stop(let notification)):
            started = false
            return fail(.stopped(notification), send: notification, restart: false)

        case (.connect, .timerExpired(.connectRetry)):
            return [.disconnect, .startTimer(.connectRetry, seconds: configuration.connectRetryTime), .connect]
        case (.connect, .connectionSucceeded), (.connect, .connectionAccepted),
             (.active, .connectionSucceeded), (.active, .connectionAccepted):
            return openConnection()
        case (.connect, .connectionFailed):
            state = .active
            return [.startTimer(.connectRetry, seconds: configuration.connectRetryTime)]
        case (.active, .timerExpired(.connectRetry)):
            if configuration.passive { return [.startTimer(.connectRetry, seconds: configuration.connectRetryTime)] }
            state = .connect
            return [.startTimer(.connectRetry, seconds: configuration.connectRetryTime), .connect]
        case (.active, .connectionFailed):
            return [.startTimer(.connectRetry, seconds: configuration.connectRetryTime)]
        case (.connect, _), (.active, _):
            return fail(.notificationSent(Self.fsmError(state)), send: Self.fsmError(state))

        case (.openSent, .messageReceived(.open(let open))):
            return receiveOpen(open)
        case (.openConfirm, .messageReceived(.keepalive)):
            state = .established
            return [.startTimer(.hold, seconds: negotiated!.holdTime), .established(negotiated!)].filter {
                if case .startTimer(.hold, 0) = $0 { false } else { true }
            }
        case (.established, .messageReceived(.keepalive)):
            return restartHold()
        case (.established, .messageReceived(.update(let update))):
            return restartHold() + [.processUpdate(update)]
        case (.established, .messageReceived(.routeRefresh(let refresh))):
            return [.resendRoutes(refresh.family)]
        case (.openConfirm, .timerExpired(.keepalive)), (.established, .timerExpired(.keepalive)):
            return [.send(.keepalive), .startTimer(.keepalive, seconds: negotiated!.keepaliveInterval)]
        case (_, .timerExpired(.hold)):
            return fail(.notificationSent(.holdTimerExpired), send: .holdTimerExpired)
        case (_, .messageReceived(.notification(let notification))):
            return fail(.notificationReceived(notification), send: nil)
        case (_, .connectionFailed):
            return fail(.connectionLost, send: nil)
        case (_, .decodingFailed(let error)):
            let notification = error.notification ?? Self.fsmError(state)
            return fail(.notificationSent(notification), send: notification)
        case (_, .timerExpired(.connectRetry)), (_, .timerExpired(.keepalive)):
            return []
        case (.openSent, .connectionAccepted), (.openConfirm, .connectionAccepted), (.established, .connectionAccepted),
             (.openSent, .connectionSucceeded), (.openConfirm, .connectionSucceeded), (.established, .connectionSucceeded):
            // A second connection is the owner's collision to resolve; this one is unaffected.
            return []
        case (_, .start):
            return []
        default:
            return fail(.notificationSent(Self.fsmError(state)), send: Self.fsmError(state))
        }
    }

    /// RFC 4271 §6.8: the connection opened by the speaker with the higher BGP identifier
    /// survives.
    public static func resolveCollision(localIdentifier: IPv4Address, remoteIdentifier: IPv4Address) -> CollisionWinner {
        localIdentifier.value < remoteIdentifier.value ? .remotelyInitiated : .locallyInitiated
    }

    /// FSM error NOTIFICATION with the RFC 6608 subcode for the state.
    static func fsmError(_ state: SessionState) -> NotificationMessage {
        let subcode: UInt8 = switch state {
        case .openSent: 1
        case .openConfirm: 2
        case .established: 3
        default: 0
        }
        return NotificationMessage(errorCode: NotificationMessage.ErrorCode.finiteStateMachine, errorSubcode: subcode)
    }

    private mutating func begin() -> [SessionAction] {
        negotiated = nil
        if configuration.passive {
            state = .active
            return [.startTimer(.connectRetry, seconds: configuration.connectRetryTime)]
        }
        state = .connect
        return [.startTimer(.connectRetry, seconds: configuration.connectRetryTime), .connect]
    }

    private mutating func openConnection() -> [SessionAction] {
        state = .openSent
        return [.stopTimer(.connectRetry), .send(.open(openMessage)), .startTimer(.hold, seconds: configuration.openHoldTime)]
    }

    private mutating func restartHold() -> [SessionAction] {
        guard let negotiated, negotiated.holdTime > 0 else { return [] }
        return [.startTimer(.hold, seconds: negotiated.holdTime)]
    }

    /// Validates the peer's OPEN (RFC 4271 §6.2) and negotiates (RFC 4271 §4.2, RFC 5492).
    private mutating func receiveOpen(_ open: OpenMessage) -> [SessionAction] {
        if open.asNumber != configuration.peerAS {
            let bad = NotificationMessage(errorCode: 2, errorSubcode: 2)
            return fail(.notificationSent(bad), send: bad)
        }
        let internalPeer = open.asNumber == configuration.localAS
        if internalPeer && open.identifier == configuration.localIdentifier {
            let bad = NotificationMessage(errorCode: 2, errorSubcode: 3)
            return fail(.notificationSent(bad), send: bad)
        }
        let hold = min(configuration.holdTime, Int(open.holdTime))
        let ours = Set(openMessage.families)
        let session = NegotiatedSession(
            peerAS: open.asNumber, peerIdentifier: open.identifier, holdTime: hold, keepaliveInterval: hold / 3,
            fourOctetAS: open.supportsFourOctetAS, families: open.families.filter { ours.contains($0) },
            routeRefresh: open.supportsRouteRefresh && openMessage.supportsRouteRefresh,
            peerGracefulRestart: openMessage.gracefulRestart == nil ? nil : open.gracefulRestart, internalPeer: internalPeer)
        negotiated = session
        state = .openConfirm
        var actions: [SessionAction] = [.stopTimer(.connectRetry), .send(.keepalive)]
        if hold > 0 {
            actions += [.startTimer(.keepalive, seconds: session.keepaliveInterval), .startTimer(.hold, seconds: hold)]
        } else {
            actions += [.stopTimer(.hold)]
        }
        return actions
    }

    /// Back to Idle: send the NOTIFICATION (if any), close, stop timers; report `down` when the
    /// session had been Established; schedule the automatic restart.
    private mutating func fail(_ reason: SessionDownReason, send notification: NotificationMessage?, restart: Bool = true) -> [SessionAction] {
        let wasEstablished = state == .established
        let wasConnected = state == .openSent || state == .openConfirm || state == .established
        state = .idle
        var actions: [SessionAction] = []
        if let notification, wasConnected { actions.append(.send(.notification(notification))) }
        actions += [.disconnect, .stopTimer(.hold), .stopTimer(.keepalive), .stopTimer(.connectRetry)]
        if wasEstablished { actions.append(.down(reason)) }
        if restart && started { actions.append(.startTimer(.connectRetry, seconds: configuration.connectRetryTime)) }
        return actions
    }
}
