import NIOCore

/// When to dial an address again: Weave's schedule (first retry after about 2 s, each failure
/// multiplies the interval by 1.5 up to 6 minutes, each delay drawn uniformly from
/// [interval/2, 3·interval/2)), reset after a connection that stayed up for ``resetAfter``.
public struct ReconnectBackoff: Hashable, Sendable {
    public var initial: TimeAmount
    public var maximum: TimeAmount
    /// A connection that lasted at least this long resets the interval to ``initial``.
    public var resetAfter: TimeAmount
    /// The interval the next delay is drawn around.
    public private(set) var interval: TimeAmount

    public init(initial: TimeAmount = .seconds(2), maximum: TimeAmount = .minutes(6), resetAfter: TimeAmount = .minutes(1)) {
        self.initial = initial
        self.maximum = maximum
        self.resetAfter = resetAfter
        self.interval = initial
    }

    /// The delay before the next attempt after a failure, then grows the interval.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> TimeAmount {
        let base = interval.nanoseconds
        let delay = base / 2 + Int64.random(in: 0..<max(1, base), using: &generator)
        interval = .nanoseconds(min(maximum.nanoseconds, base * 3 / 2))
        return .nanoseconds(delay)
    }

    public mutating func nextDelay() -> TimeAmount {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    /// A connection ended after being up for `uptime`: a long one resets the schedule.
    public mutating func connectionEnded(after uptime: TimeAmount) {
        if uptime >= resetAfter { reset() }
    }

    public mutating func reset() { interval = initial }
}

/// A token bucket for accepted connections: ``burst`` accepts at once, refilled at ``perSecond``.
/// Connections beyond it are closed right after accept, before any handshake work.
public struct AcceptRateLimiter: Hashable, Sendable {
    public let burst: Int
    public let perSecond: Double
    private var tokens: Double
    private var last: NIODeadline?

    public init(burst: Int = 20, perSecond: Double = 10) {
        self.burst = burst
        self.perSecond = perSecond
        self.tokens = Double(burst)
    }

    /// Takes a token at `now`; false when the bucket is empty.
    public mutating func tryAcquire(now: NIODeadline) -> Bool {
        if let last, now > last {
            tokens = min(Double(burst), tokens + Double((now - last).nanoseconds) / 1e9 * perSecond)
        }
        last = max(last ?? now, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
