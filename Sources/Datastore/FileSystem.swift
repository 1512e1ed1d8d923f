#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the POSIX file calls the file backend needs. Internal: no C types leave
/// the module.
enum FileSystem {
    /// Creates `path` and its parents (mode 0755); an existing directory is fine. (`mkdir -p`)
    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw DatastoreError(.ioFailed, "mkdir \(current) failed", errno: errno)
            }
        }
    }

    /// Reads a whole file; nil when it does not exist.
    static func readFile(_ path: String) throws -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw DatastoreError(.ioFailed, "open \(path) failed", errno: errno)
        }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw DatastoreError(.ioFailed, "read \(path) failed", errno: errno)
            }
            if count == 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }

    /// Writes `bytes` to `path` so that readers see either the old or the new content, even
    /// after a crash: write a temporary file, fsync it, rename it over the target, fsync the
    /// directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String, synchronous: Bool = true) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DatastoreError(.ioFailed, "create \(temporary) failed", errno: errno) }
        do {
            try writeAll(fd, bytes, path: temporary)
            guard !synchronous || fsync(fd) == 0 else { throw DatastoreError(.ioFailed, "fsync \(temporary) failed", errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw DatastoreError(.ioFailed, "rename \(temporary) failed", errno: code)
        }
        let directoryDescriptor = synchronous ? open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw DatastoreError(.ioFailed, "write \(path) failed", errno: errno)
            }
            offset += written
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
    static func monotonicMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// An exclusive `flock(2)` on a lock file, held until ``unlock()``. Each instance opens its own
/// file descriptor, so two threads of one process exclude each other just like two processes.
struct FileLock: ~Copyable {
    private let descriptor: Int32

    init(path: String) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DatastoreError(.ioFailed, "open lock \(path) failed", errno: errno) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            throw DatastoreError(.ioFailed, "flock \(path) failed", errno: code)
        }
        descriptor = fd
    }

    consuming func unlock() {
        close(descriptor)  // closing the last descriptor releases the flock
        discard self
    }

    deinit { close(descriptor) }
}
