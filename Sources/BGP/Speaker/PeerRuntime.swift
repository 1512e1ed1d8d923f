import NIOCore
import NetPrimitives

/// The live state of one configured peer; owned and touched only by ``SpeakerCore`` on its
/// event loop.
///
/// `@unchecked Sendable`: it is only read and written on the core's event loop (closures that
/// capture it run there), so there is no concurrent access.
final class PeerRuntime: @unchecked Sendable {
    var configuration: BGPSpeaker.PeerConfiguration
    var machine: SessionStateMachine
    let ribIndex: Int
    var channel: Channel?
    /// Whether ``channel`` is a connection we opened (for collision resolution).
    var channelIsOutbound = false
    /// A second, inbound connection during OpenSent/OpenConfirm, kept until the collision is
    /// resolved (RFC 4271 §6.8).
    var pending: PendingConnection?
    var decoder: BGPMessageDecoder?
    var lastWrite: EventLoopFuture<Void>?
    var timers: [SessionTimer: Scheduled<Void>] = [:]
    /// Sweeps the stale routes of a restarting peer (RFC 4724 restart / stale-path time).
    var staleTimer: Scheduled<Void>?
    /// The extra KEEPALIVE after a burst of UPDATEs (``UpdateBurstNudge``) and its timer.
    var nudge = UpdateBurstNudge()
    var nudgeTimer: Scheduled<Void>?
    /// Bumped on every connect or disconnect, so late connect results are dropped.
    var generation = 0
    var messagesReceived = 0
    var messagesSent = 0
    var updatesReceived = 0
    var updatesSent = 0
    var establishedTransitions = 0
    var lastDownReason: SessionDownReason?
    var lastError: String?
    /// The negotiation of the last session (kept after it went down, for graceful restart).
    var lastNegotiated: NegotiatedSession?

    init(configuration: BGPSpeaker.PeerConfiguration, machine: SessionStateMachine, ribIndex: Int) {
        self.configuration = configuration
        self.machine = machine
        self.ribIndex = ribIndex
    }

    func cancelTimers() {
        for timer in timers.values { timer.cancel() }
        timers = [:]
        staleTimer?.cancel()
        staleTimer = nil
        cancelNudge()
    }

    func cancelNudge() {
        nudgeTimer?.cancel()
        nudgeTimer = nil
        nudge.reset()
    }
}

/// The losing-or-winning candidate of a connection collision.
struct PendingConnection {
    var channel: Channel
    var handler: PeerChannelHandler
    var machine: SessionStateMachine
}
