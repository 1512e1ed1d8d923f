/// A pure debounce policy for route recalculation: a burst of topology changes yields one
/// recalculation, after the changes have paused for ``quietPeriod`` but never later than
/// ``maximumDelay`` after the first change of the burst (so a steady stream of changes still
/// gets routes).
///
/// The runtime drives it with its own clock: call ``noteChange(at:)`` when
/// ``GossipEngine`` reports `topologyChanged`, arm a timer for ``deadline``, and when it fires
/// ask ``shouldRecalculate(at:)``; if true, compute ``GossipEngine/routes()`` and publish
/// `newTable.changes(since: oldTable)` unless it ``RouteTableDiff/isEmpty``.
public struct RecalculationCoalescer<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration, Instant: Sendable {
    public var quietPeriod: Duration
    public var maximumDelay: Duration
    /// When the first change of the pending burst happened; nil when nothing is pending.
    public private(set) var firstChange: Instant?
    /// When the latest change happened.
    public private(set) var lastChange: Instant?

    public init(quietPeriod: Duration = .milliseconds(50), maximumDelay: Duration = .milliseconds(500)) {
        self.quietPeriod = quietPeriod
        self.maximumDelay = maximumDelay
    }

    /// Records one topology change.
    public mutating func noteChange(at now: Instant) {
        if firstChange == nil { firstChange = now }
        lastChange = now
    }

    /// When the pending recalculation is due; nil when nothing is pending. Moves later with
    /// each change, up to the maximum delay.
    public var deadline: Instant? {
        guard let firstChange, let lastChange else { return nil }
        let quiet = lastChange.advanced(by: quietPeriod)
        let cap = firstChange.advanced(by: maximumDelay)
        return quiet < cap ? quiet : cap
    }

    /// True (once per burst) when a recalculation is due at `now`; it then clears the burst.
    public mutating func shouldRecalculate(at now: Instant) -> Bool {
        guard let deadline, now >= deadline else { return false }
        firstChange = nil
        lastChange = nil
        return true
    }
}
