/// Exponential back-off with jitter and a reset, as client-go's reflector uses between
/// failed list-and-watch rounds and after 429s and refused connections: the delay starts at
/// `initial`, doubles per call up to `cap`, gets up to `jitter` × itself added at random, and
/// falls back to `initial` when no back-off was needed for `resetAfter`.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var cap: Duration
    public var factor: Double
    public var jitter: Double
    public var resetAfter: Duration

    /// client-go's values: 800 ms doubling to 30 s, jitter 1.0, reset after 2 minutes.
    public static let clientGo = Backoff(initial: .milliseconds(800), cap: .seconds(30), factor: 2, jitter: 1, resetAfter: .seconds(120))

    public init(initial: Duration, cap: Duration, factor: Double = 2, jitter: Double = 1, resetAfter: Duration = .seconds(120)) {
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.resetAfter = resetAfter
    }
}

/// The running state of a ``Backoff``.
struct BackoffState: Sendable {
    let policy: Backoff
    private var next: Duration
    private var lastCall: ContinuousClock.Instant?

    init(_ policy: Backoff) {
        self.policy = policy
        next = policy.initial
    }

    /// The delay to wait now; advances the state.
    mutating func delay<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let now = ContinuousClock.now
        if let lastCall, now - lastCall > policy.resetAfter { next = policy.initial }
        lastCall = now
        let base = min(next, policy.cap)
        next = min(policy.cap, base * policy.factor)
        return base + base * (policy.jitter * Double.random(in: 0..<1, using: &random))
    }

    mutating func delay() -> Duration {
        var random = SystemRandomNumberGenerator()
        return delay(using: &random)
    }
}
