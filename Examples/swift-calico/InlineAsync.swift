#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Runs the plugin's async entry point on the calling (main) thread (same as swift-flannel's).
///
/// `Task.immediate` starts the task synchronously on this thread; the plugin's ADD path never
/// really suspends (its kernel and file calls are synchronous), so the whole request runs here
/// without waking a thread of the concurrency pool. A process that lives for a few
/// milliseconds saves a thread start and two hand-offs, which is most of its scheduling
/// latency on a busy node. If the task does suspend, this thread waits for it.
enum InlineAsync {
    /// The task's result and a semaphore to wait for it.
    final class Completion: @unchecked Sendable {
        // Unchecked: `value` is guarded by the Mutex; `semaphore` is a POSIX semaphore, which
        // is thread-safe by definition, initialised before the task starts and destroyed after
        // it finished.
        let value = Mutex<Int32?>(nil)
        let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        init() { sem_init(semaphore, 0, 0) }
        deinit {
            sem_destroy(semaphore)
            semaphore.deallocate()
        }
    }

    nonisolated static func run(_ body: @escaping @Sendable () async -> Int32) -> Int32 {
        let completion = Completion()
        Task.immediate {
            let status = await body()
            completion.value.withLock { $0 = status }
            sem_post(completion.semaphore)
        }
        while completion.value.withLock({ $0 }) == nil {
            if sem_wait(completion.semaphore) != 0, errno != EINTR { break }
        }
        return completion.value.withLock { $0 } ?? 1
    }
}
