import NIOCore
import Testing
@testable import Mesh

/// A deterministic generator for jitter tests (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var value = state
        value = (value ^ (value >> 30)) &* 0xbf58_476d_1ce4_e5b9
        value = (value ^ (value >> 27)) &* 0x94d0_49bb_1331_11eb
        return value ^ (value >> 31)
    }
}

@Suite struct ScheduleTests {
    @Test func backoffIsJitteredGrowingAndCapped() {
        var backoff = ReconnectBackoff(initial: .seconds(2), maximum: .seconds(60), resetAfter: .seconds(60))
        var generator = SeededGenerator(state: 1)
        var interval: Int64 = 2_000_000_000
        var delays: [Int64] = []
        for _ in 0..<20 {
            let delay = backoff.nextDelay(using: &generator).nanoseconds
            #expect(delay >= interval / 2 && delay < interval / 2 + interval)
            delays.append(delay)
            interval = min(60_000_000_000, interval * 3 / 2)
        }
        #expect(backoff.interval == .seconds(60))
        #expect(delays.last! < 90_000_000_000)
        // Jittered: two generators give different schedules.
        var other = ReconnectBackoff(initial: .seconds(2), maximum: .seconds(60))
        var otherGenerator = SeededGenerator(state: 2)
        #expect((0..<5).map { _ in other.nextDelay(using: &otherGenerator).nanoseconds } != Array(delays.prefix(5)))
    }

    @Test func backoffResetsOnlyAfterALongConnection() {
        var backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(10), resetAfter: .seconds(30))
        for _ in 0..<4 { _ = backoff.nextDelay() }
        let grown = backoff.interval
        #expect(grown > .seconds(1))
        backoff.connectionEnded(after: .seconds(5))
        #expect(backoff.interval == grown)
        backoff.connectionEnded(after: .seconds(30))
        #expect(backoff.interval == .seconds(1))
    }

    @Test func acceptRateLimiterAllowsBurstThenRate() {
        var limiter = AcceptRateLimiter(burst: 3, perSecond: 2)
        let start = NIODeadline.uptimeNanoseconds(5_000_000_000)
        var results: [Bool] = (0..<4).map { _ in limiter.tryAcquire(now: start) }
        #expect(results == [true, true, true, false])
        results = [400, 600, 700].map { limiter.tryAcquire(now: start + .milliseconds($0)) }
        #expect(results == [false, true, false])  // 1.2 tokens refilled at 600 ms
        // Refill is capped at the burst.
        results = (0..<4).map { _ in limiter.tryAcquire(now: start + .seconds(100)) }
        #expect(results == [true, true, true, false])
    }

    @Test func versionNegotiation() {
        #expect(MeshProtocolVersion.negotiate(ours: 1...3, theirs: 2...5) == 3)
        #expect(MeshProtocolVersion.negotiate(ours: 1...1, theirs: 1...2) == 1)
        #expect(MeshProtocolVersion.negotiate(ours: 2...2, theirs: 2...2) == 2)
        #expect(MeshProtocolVersion.negotiate(ours: 1...1, theirs: 2...3) == nil)
        #expect(MeshProtocolVersion.negotiate(ours: 4...6, theirs: 1...3) == nil)
    }
}
