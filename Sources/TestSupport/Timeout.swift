import Synchronization

/// Thrown by ``withTimeout(_:_:_:)`` when the work did not finish in time.
public struct TestTimeoutError: Error, CustomStringConvertible {
    /// What was waited for.
    public var what: String
    /// How long it was given.
    public var limit: Duration

    public init(what: String, limit: Duration) {
        self.what = what
        self.limit = limit
    }

    public var description: String { "\(what) did not finish within \(limit) (it is cancelled and left behind)" }
}

/// Runs `body` and returns its result, or throws ``TestTimeoutError`` once `limit` has passed,
/// whether or not `body` reacts to cancellation.
///
/// ```swift
/// let events = try await withTimeout(.seconds(10), "the watch") { try await watcher.value }
/// ```
///
/// Unlike a task group racing the work against a sleep (which, after the sleep wins, still
/// waits for the work to end and so hangs with it), this never waits for `body` after the
/// deadline: `body` runs in its own task, which is cancelled and abandoned. A hung test
/// therefore fails with a message naming what hung instead of stopping the whole test run.
/// Cancelling the caller cancels `body` too.
public func withTimeout<T: Sendable>(
    _ limit: Duration, _ what: String = "the operation", _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let work = Task { try await body() }
    let outcome = Outcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            outcome.install(continuation)
            let timer = Task {
                try await Task.sleep(for: limit)
                outcome.resume(with: .failure(TestTimeoutError(what: what, limit: limit)))
                work.cancel()
            }
            Task {
                let result = await work.result
                timer.cancel()
                outcome.resume(with: result)
            }
        }
    } onCancel: {
        work.cancel()
    }
}

/// One continuation resumed exactly once by whichever of the work and the timer comes first.
private final class Outcome<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with result: Result<T, any Error>) {
        let taken = continuation.withLock { stored -> CheckedContinuation<T, any Error>? in
            defer { stored = nil }
            return stored
        }
        taken?.resume(with: result)
    }
}
