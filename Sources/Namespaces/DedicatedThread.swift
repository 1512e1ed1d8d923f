#if canImport(Glibc)
import Glibc
#endif
internal import CLinuxShim

/// Runs one synchronous closure on a new OS thread that first enters a network namespace,
/// then lets the thread exit. The namespace change never outlives the closure, and never
/// touches a thread of Swift's cooperative pool (Documentation/Architecture.md, "The namespace pattern").
enum DedicatedThread {
    /// The name every dedicated thread carries (`/proc/self/task/TID/comm`), so a check of the
    /// process's threads can tell them from the cooperative pool's.
    static let threadName = "swcni-netns"

    /// The work of one thread: enter the namespace, then call `body` with nil, or with the
    /// error when entering failed (the work is skipped then).
    final class Job: @unchecked Sendable {
        // Unchecked: handed to the new thread exactly once; the creator reads nothing back
        // except through pthread_join or a continuation, which order the accesses.
        let namespaceFD: Int32
        let namespaceName: String
        let body: (NamespaceError?) -> Void

        init(namespaceFD: Int32, namespaceName: String, body: @escaping (NamespaceError?) -> Void) {
            self.namespaceFD = namespaceFD
            self.namespaceName = namespaceName
            self.body = body
        }

        func run() {
            _ = cnishim_set_thread_name(DedicatedThread.threadName)
            if namespaceFD >= 0 && cnishim_setns_net(namespaceFD) != 0 {
                body(NamespaceError(.enterFailed, namespace: namespaceName, errno: errno))
            } else {
                body(nil)
            }
        }
    }

    static func start(_ job: Job) throws(NamespaceError) -> pthread_t {
        let context = Unmanaged.passRetained(job).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Job>.fromOpaque(context).release()
            throw NamespaceError(.threadFailed, namespace: job.namespaceName, errno: result)
        }
        return thread
    }

    /// Runs `body` on a new thread inside the namespace and waits for it, blocking the caller.
    static func runBlocking<T>(namespaceFD: Int32, name: String, _ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            var outcome: Result<T, any Error>?
            let thread = try start(Job(namespaceFD: namespaceFD, namespaceName: name) { enterError in
                outcome = enterError.map { .failure($0) } ?? Result { try body() }
            })
            pthread_join(thread, nil)
            return try outcome!.get()
        }
    }

    /// Runs `body` on a new thread inside the namespace; the calling task suspends and no pool
    /// thread blocks or changes namespace.
    static func run<T: Sendable>(
        namespaceFD: Int32, name: String, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(namespaceFD: namespaceFD, namespaceName: name) { enterError in
                continuation.resume(with: enterError.map { .failure($0) } ?? Result { try body() })
            }
            do {
                pthread_detach(try start(job))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
