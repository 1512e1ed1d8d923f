#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

extension PluginMain {
    /// Runs the request on the calling (main) thread and returns the exit status.
    ///
    /// ```swift
    /// exit(PluginMain(MyPlugin()).runOnCallingThread())
    /// ```
    ///
    /// `Task.immediate` starts the request synchronously on this thread. A plugin whose ADD
    /// path never really suspends (its kernel and file calls are synchronous) then runs here
    /// from start to end without waking a thread of the concurrency pool: a process that lives
    /// for a few milliseconds saves a thread start and two hand-offs, most of its scheduling
    /// latency on a busy node. If the request does suspend, this thread waits for it.
    public func runOnCallingThread() -> Int32 {
        let completion = CallingThreadCompletion()
        Task.immediate {
            let status = await self.run()
            completion.value.withLock { $0 = status }
            sem_post(completion.semaphore)
        }
        while completion.value.withLock({ $0 }) == nil {
            if sem_wait(completion.semaphore) != 0, errno != EINTR { break }
        }
        return completion.value.withLock { $0 } ?? 1
    }
}

/// The request's exit status and a semaphore to wait for it.
final class CallingThreadCompletion: @unchecked Sendable {
    // Unchecked: `value` is guarded by the Mutex; `semaphore` is a POSIX semaphore, which is
    // thread-safe by definition, initialised before the task starts and destroyed after it
    // finished.
    let value = Mutex<Int32?>(nil)
    let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    init() { sem_init(semaphore, 0, 0) }
    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }
}
