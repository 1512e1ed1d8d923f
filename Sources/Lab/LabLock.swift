#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on `<state>/lock`, held while one command works on the lab, so two
/// commands at once never interleave their state changes.
final class LabLock: Sendable {
    private let descriptor: Int32

    /// Waits up to `timeoutMilliseconds` (default `$CNILAB_LOCK_TIMEOUT_MS`, else 60 s) for the lock.
    init(path: String, timeoutMilliseconds: Int? = nil) throws(LabError) {
        let timeoutMilliseconds =
            timeoutMilliseconds ?? getenv("CNILAB_LOCK_TIMEOUT_MS").flatMap { Int(String(cString: $0)) } ?? 60_000
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LabError(.state, "cannot open lock \(path) (errno \(errno))") }
        var waited = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, waited < timeoutMilliseconds else {
                close(fd)
                throw LabError(.busy, "another cnilab command holds \(path); try again when it finishes")
            }
            usleep(20_000)
            waited += 20
        }
        descriptor = fd
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
