#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs blocking work (socket I/O) on its own short-lived OS thread, so the Swift concurrency
/// pool never blocks on the network.
enum BlockingThread {
    /// Starts `body` on a new detached thread; throws (and never runs `body`) when no thread
    /// can be started. Running it inline instead would block the caller, for a watch forever.
    static func detach(_ body: @escaping @Sendable () -> Void) throws(DatastoreError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw DatastoreError(.unavailable, "cannot start a thread for blocking I/O", errno: status)
        }
        pthread_detach(thread)
    }

    /// Runs `body` on a new thread and returns its result. The continuation is resumed exactly
    /// once: by the thread, or here when no thread could be started.
    static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try detach {
                    do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
                }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
