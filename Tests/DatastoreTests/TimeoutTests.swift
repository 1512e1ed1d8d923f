import Synchronization
import TestSupport
import Testing

/// TestSupport's `withTimeout`, which the etcd tests rely on to fail instead of hanging.
@Suite struct TimeoutTests {
    /// A continuation only the test resumes, to stand for work that ignores cancellation.
    final class Gate: Sendable {
        private let state = Mutex<(opened: Bool, waiting: CheckedContinuation<Void, Never>?)>((false, nil))

        func wait() async {
            await withCheckedContinuation { continuation in
                let opened = state.withLock { state in
                    if !state.opened { state.waiting = continuation }
                    return state.opened
                }
                if opened { continuation.resume() }
            }
        }

        func open() {
            let waiting = state.withLock { state in
                state.opened = true
                defer { state.waiting = nil }
                return state.waiting
            }
            waiting?.resume()
        }
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    /// The previous helper raced the work against a sleep in a task group, which waits for
    /// every child: with work that ignores cancellation (awaiting another task's value, as the
    /// etcd HA test did with its watch) it never returned.
    @Test func throwsOnTimeWhileTheWorkIgnoresCancellation() async throws {
        let gate = Gate()
        defer { gate.open() }
        let started = ContinuousClock.now
        await #expect(throws: TestTimeoutError.self) {
            try await withTimeout(.milliseconds(200), "work ignoring cancellation") { await gate.wait() }
        }
        // Generous: a full parallel run on two cores can delay the timer task by many seconds;
        // the old helper never returned at all.
        #expect(ContinuousClock.now - started < .seconds(60))
    }

    @Test func returnsTheResultAndPassesErrorsThrough() async throws {
        #expect(try await withTimeout(.seconds(60)) { 42 } == 42)
        struct Expected: Error {}
        await #expect(throws: Expected.self) { try await withTimeout(.seconds(60)) { throw Expected() } }
    }

    @Test func theWorkIsCancelledAtTheDeadline() async throws {
        let cancelled = Flag()
        await #expect(throws: TestTimeoutError.self) {
            try await withTimeout(.milliseconds(100)) {
                do { try await Task.sleep(for: .seconds(600)) } catch { cancelled.set() }
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !cancelled.isSet, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(cancelled.isSet)
    }
}
