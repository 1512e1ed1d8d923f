#if canImport(Glibc)
import Glibc
#endif
internal import SystemSupport

/// An exclusive `flock` on `<state>/lock` (the package's one `FileLock`), held while one
/// command works on the lab, so two commands at once never interleave their state changes.
final class LabLock: Sendable {
    private let lock: FileLock

    /// Waits up to `timeoutMilliseconds` (default `$CNILAB_LOCK_TIMEOUT_MS`, else 60 s) for the lock.
    init(path: String, timeoutMilliseconds: Int? = nil) throws(LabError) {
        let timeoutMilliseconds =
            timeoutMilliseconds ?? getenv("CNILAB_LOCK_TIMEOUT_MS").flatMap { Int(String(cString: $0)) } ?? 60_000
        do throws(SystemCallError) {
            lock = try FileLock(path: path, timeoutMilliseconds: timeoutMilliseconds)
        } catch where error.errno == EWOULDBLOCK {
            throw LabError(.busy, "another cnilab command holds \(path); try again when it finishes")
        } catch {
            throw LabError(.state, "cannot lock \(path): \(error)")
        }
    }
}
