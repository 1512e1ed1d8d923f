import NetPrimitives

/// The states of RFC 4271 §8.2.2.
public enum SessionState: String, Hashable, Sendable, CustomStringConvertible {
    case idle = "Idle"
    case connect = "Connect"
    case active = "Active"
    case openSent = "OpenSent"
    case openConfirm = "OpenConfirm"
    case established = "Established"
    public var description: String { rawValue }
}

/// The timers of one session.
public enum SessionTimer: Hashable, Sendable {
    case connectRetry
    case hold
    case keepalive
}

/// What two speakers agreed on in their OPEN messages.
public struct NegotiatedSession: Hashable, Sendable {
    public var peerAS: UInt32
    public var peerIdentifier: IPv4Address
    /// Seconds; 0 means no hold timer and no keepalives.
    public var holdTime: Int
    public var keepaliveInterval: Int
    public var fourOctetAS: Bool
    public var families: [AddressFamily]
    public var routeRefresh: Bool
    /// The peer's graceful-restart capability, when both announced it.
    public var peerGracefulRestart: Capability.GracefulRestart?
    public var internalPeer: Bool

    /// The codec context for this session.
    public var messageContext: MessageContext { MessageContext(fourOctetAS: fourOctetAS, internalPeer: internalPeer) }
}

/// Why a session left Established or failed to reach it.
public enum SessionDownReason: Hashable, Sendable, CustomStringConvertible {
    /// Stopped locally (administratively), with the NOTIFICATION sent.
    case stopped(NotificationMessage)
    /// We detected an error and sent this NOTIFICATION.
    case notificationSent(NotificationMessage)
    /// The peer sent this NOTIFICATION.
    case notificationReceived(NotificationMessage)
    /// The TCP connection went away without a NOTIFICATION (graceful restart keeps routes).
    case connectionLost

    public var description: String {
        switch self {
        case .stopped(let notification): "stopped (\(notification))"
        case .notificationSent(let notification): "sent \(notification)"
        case .notificationReceived(let notification): "received \(notification)"
        case .connectionLost: "connection lost"
        }
    }
}

/// Inputs of the state machine (the events of RFC 4271 §8.1 this implementation uses).
public enum SessionEvent: Hashable, Sendable {
    /// ManualStart / ManualStart_with_PassiveTcpEstablishment (by configuration).
    case start
    /// ManualStop, or an automatic stop such as max-prefix, with the NOTIFICATION to send.
    case stop(NotificationMessage)
    case timerExpired(SessionTimer)
    /// Our outgoing connection succeeded (Tcp_CR_Acked).
    case connectionSucceeded
    /// The peer connected to us (TcpConnectionConfirmed).
    case connectionAccepted
    /// The connection failed or closed (TcpConnectionFails).
    case connectionFailed
    case messageReceived(BGPMessage)
    /// A received message could not be decoded; the error carries the NOTIFICATION.
    case decodingFailed(BGPError)
}

/// Outputs of the state machine, carried out by its owner in order.
public enum SessionAction: Hashable, Sendable {
    /// Open a TCP connection to the peer.
    case connect
    /// Close the TCP connection (after flushing what was sent).
    case disconnect
    case send(BGPMessage)
    case startTimer(SessionTimer, seconds: Int)
    case stopTimer(SessionTimer)
    /// The session reached Established.
    case established(NegotiatedSession)
    /// The session left Established (only emitted when it had been established).
    case down(SessionDownReason)
    /// Hand an UPDATE to the RIB.
    case processUpdate(UpdateMessage)
    /// The peer asked us to resend our routes of this family.
    case resendRoutes(AddressFamily)
}

/// Which connection survives a collision (RFC 4271 §6.8).
public enum CollisionWinner: Hashable, Sendable {
    /// The connection we opened.
    case locallyInitiated
    /// The connection the peer opened.
    case remotelyInitiated
}
