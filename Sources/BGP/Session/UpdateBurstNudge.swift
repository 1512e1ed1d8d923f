import NIOCore

/// Decides when to send an extra KEEPALIVE once a burst of UPDATEs from a peer has ended.
///
/// Why: bird 2 sometimes leaves the last UPDATE of a table transfer (with its End-of-RIB) in
/// its own queue until its main loop wakes up for another reason: a timer, at the latest its
/// 3 s poll timeout, or a message from the peer. A packet capture shows the last segment
/// leaving bird 0.3–3 s after the rest, with the receive window open, whatever the receiver
/// (gobgpd sees the same). A KEEPALIVE after the burst is such a message: bird flushes at once.
///
/// RFC 4271 §4.4: KEEPALIVEs at most one per second, none when the hold time is zero. The
/// nudge keeps that spacing (counting the periodic KEEPALIVEs too), so it costs at most one
/// 19-byte message per second while UPDATEs arrive, and nothing on a quiet session.
struct UpdateBurstNudge: Sendable {
    enum Decision: Equatable {
        /// Nothing received since the last nudge.
        case idle
        /// Check again at this time.
        case wait(until: NIODeadline)
        /// Send a KEEPALIVE now.
        case send
    }

    /// How long the peer must stay silent after an UPDATE before the burst counts as ended.
    var quietPeriod: TimeAmount = .milliseconds(20)
    /// The smallest spacing of KEEPALIVEs (RFC 4271 §4.4).
    var minimumSpacing: TimeAmount = .seconds(1)
    private(set) var lastUpdate: NIODeadline?
    private(set) var lastKeepaliveSent: NIODeadline?

    init(quietPeriod: TimeAmount = .milliseconds(20), minimumSpacing: TimeAmount = .seconds(1)) {
        self.quietPeriod = quietPeriod
        self.minimumSpacing = minimumSpacing
    }

    mutating func updateReceived(at time: NIODeadline) { lastUpdate = time }

    mutating func keepaliveSent(at time: NIODeadline) { lastKeepaliveSent = time }

    /// Forgets everything (session down).
    mutating func reset() {
        lastUpdate = nil
        lastKeepaliveSent = nil
    }

    func decision(at now: NIODeadline) -> Decision {
        guard let lastUpdate else { return .idle }
        if let lastKeepaliveSent, lastKeepaliveSent >= lastUpdate { return .idle }
        var due = lastUpdate + quietPeriod
        if let lastKeepaliveSent { due = max(due, lastKeepaliveSent + minimumSpacing) }
        return now >= due ? .send : .wait(until: due)
    }
}
