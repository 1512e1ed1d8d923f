#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The package's one file lock: an exclusive `flock(2)` on a lock file (created when missing),
/// held until ``unlock()`` or the end of the value. Each instance opens its own file
/// descriptor, so two threads of one process exclude each other just like two processes.
package struct FileLock: ~Copyable, Sendable {
    private let descriptor: Int32

    /// Takes the lock, waiting for it: for as long as it takes when `timeoutMilliseconds` is
    /// nil (a blocking `flock`; call it off the cooperative pool), else polling every 20 ms and
    /// failing with EWOULDBLOCK when the time is up.
    package init(path: String, timeoutMilliseconds: Int? = nil) throws(SystemCallError) {
        let fd = SystemCall.retryingInterrupts { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw SystemCallError("open lock \(path)", errno: errno) }
        var waited = 0
        while true {
            let result = SystemCall.retryingInterrupts { flock(fd, LOCK_EX | (timeoutMilliseconds == nil ? 0 : LOCK_NB)) }
            if result == 0 { break }
            let code = errno
            if let timeoutMilliseconds, code == EWOULDBLOCK, waited < timeoutMilliseconds {
                usleep(20_000)
                waited += 20
                continue
            }
            close(fd)
            throw SystemCallError("flock \(path)", errno: code)
        }
        descriptor = fd
    }

    /// Releases the lock (closing the descriptor releases the `flock`).
    package consuming func unlock() {
        close(descriptor)
        discard self
    }

    deinit { close(descriptor) }
}
