#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The file operations the libraries share, on plain POSIX calls (no Foundation: plugins are
/// static executables and start on every pod ADD).
package enum SystemFile {
    /// Creates `path` and its parents (mode 0755); an existing directory is fine. (`mkdir -p`)
    package static func makeDirectories(_ path: String) throws(SystemCallError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SystemCallError("mkdir \(current)", errno: errno)
            }
        }
    }

    /// Reads a whole file.
    package static func read(_ path: String, chunkSize: Int = 65536) throws(SystemCallError) -> [UInt8] {
        let descriptor = SystemCall.retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw SystemCallError("open \(path)", errno: errno) }
        defer { close(descriptor) }
        return try SystemCall.readAll(descriptor, chunkSize: chunkSize, operation: "read \(path)")
    }

    /// Reads a whole file; nil when it does not exist.
    package static func readIfPresent(_ path: String, chunkSize: Int = 65536) throws(SystemCallError) -> [UInt8]? {
        do throws(SystemCallError) {
            return try read(path, chunkSize: chunkSize)
        } catch where error.errno == ENOENT && error.operation.hasPrefix("open ") {
            return nil
        }
    }

    /// How ``write(_:to:mode:)`` treats an existing file.
    package enum WriteMode: Sendable {
        /// A new file; fails (EEXIST) when it exists.
        case exclusive
        /// Created or overwritten in place, then cut to the new length. Not truncating first
        /// keeps the file's block: on a file system mounted with `discard`, O_TRUNC frees it
        /// and the kernel issues a synchronous discard on every call. Not atomic.
        case overwriteInPlace
        /// Created or truncated (`O_TRUNC`) and written. Not atomic.
        case truncate
    }

    /// Writes `bytes` to `path` (mode 0644).
    package static func write(_ bytes: [UInt8], to path: String, mode: WriteMode) throws(SystemCallError) {
        let extra: Int32 = switch mode {
        case .exclusive: O_EXCL
        case .overwriteInPlace: 0
        case .truncate: O_TRUNC
        }
        let descriptor = SystemCall.retryingInterrupts { open(path, O_WRONLY | O_CREAT | O_CLOEXEC | extra, 0o644) }
        guard descriptor >= 0 else { throw SystemCallError("create \(path)", errno: errno) }
        defer { close(descriptor) }
        try SystemCall.writeAll(descriptor, bytes, operation: "write \(path)")
        if case .overwriteInPlace = mode, ftruncate(descriptor, off_t(bytes.count)) != 0 {
            throw SystemCallError("truncate \(path)", errno: errno)
        }
    }

    /// Writes `bytes` to `path` so that readers see either the old or the new content, even
    /// after a crash: write `path.tmp`, fsync it, rename it over the target, fsync the
    /// directory (`synchronous: false` skips both fsyncs).
    package static func writeAtomically(
        _ bytes: [UInt8], to path: String, directory: String, synchronous: Bool = true
    ) throws(SystemCallError) {
        let temporary = path + ".tmp"
        let descriptor = SystemCall.retryingInterrupts { open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard descriptor >= 0 else { throw SystemCallError("create \(temporary)", errno: errno) }
        do throws(SystemCallError) {
            try SystemCall.writeAll(descriptor, bytes, operation: "write \(temporary)")
            guard !synchronous || fsync(descriptor) == 0 else { throw SystemCallError("fsync \(temporary)", errno: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SystemCallError("rename \(temporary)", errno: code)
        }
        let directoryDescriptor = synchronous ? open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// The names in a directory (without `.` and `..`).
    package static func entries(_ path: String) throws(SystemCallError) -> [String] {
        guard let directory = opendir(path) else { throw SystemCallError("opendir \(path)", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
