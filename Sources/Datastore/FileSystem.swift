#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import SystemSupport

/// The file calls the file backend needs, on the package's system layer (SystemSupport),
/// with its errors as ``DatastoreError``. Internal: no C types leave the module.
enum FileSystem {
    /// Creates `path` and its parents (mode 0755); an existing directory is fine. (`mkdir -p`)
    static func makeDirectories(_ path: String) throws {
        try mapped { () throws(SystemCallError) in try SystemFile.makeDirectories(path) }
    }

    /// Reads a whole file; nil when it does not exist.
    static func readFile(_ path: String) throws -> [UInt8]? {
        try mapped { () throws(SystemCallError) in try SystemFile.readIfPresent(path) }
    }

    /// Writes `bytes` to `path` so that readers see either the old or the new content, even
    /// after a crash: write a temporary file, fsync it, rename it over the target, fsync the
    /// directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String, synchronous: Bool = true) throws {
        try mapped { () throws(SystemCallError) in
            try SystemFile.writeAtomically(bytes, to: path, directory: directory, synchronous: synchronous)
        }
    }

    /// Takes the exclusive lock of `path`, waiting for it (see `FileLock`).
    static func lock(_ path: String) throws -> FileLock {
        do throws(SystemCallError) {
            return try FileLock(path: path)
        } catch {
            throw DatastoreError(.ioFailed, "\(error.operation) failed", errno: error.errno)
        }
    }

    private static func mapped<T>(_ body: () throws(SystemCallError) -> T) throws -> T {
        do throws(SystemCallError) {
            return try body()
        } catch {
            throw DatastoreError(.ioFailed, "\(error.operation) failed", errno: error.errno)
        }
    }

    /// Milliseconds since the epoch (wall clock: shared by every process on the machine).
    static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// Milliseconds on the monotonic clock: for deadlines, which a wall-clock step (NTP) must
    /// neither stretch nor cut short.
    static func monotonicMilliseconds() -> Int64 { MonotonicClock.milliseconds() }
}
