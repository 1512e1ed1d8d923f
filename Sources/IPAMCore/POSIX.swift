#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import SystemSupport

/// The few file calls IPAM needs, on the package's system layer (SystemSupport), with its
/// errors as ``IPAMError``. Internal.
enum POSIX {
    static func makeDirectories(_ path: String) throws(IPAMError) {
        try mapped { () throws(SystemCallError) in try SystemFile.makeDirectories(path) }
    }

    static func readFile(_ path: String) throws(IPAMError) -> [UInt8] {
        try mapped { () throws(SystemCallError) in try SystemFile.read(path, chunkSize: 4096) }
    }

    /// Writes `bytes` to `path`: a new file when `exclusive` (fails if it exists), else the
    /// file is created or overwritten in place and then cut to the new length (see
    /// `SystemFile.WriteMode.overwriteInPlace`). Crash behaviour is the reference
    /// host-local's (`os.WriteFile`, O_TRUNC then write): neither is atomic, callers hold the
    /// store's lock.
    static func writeFile(_ path: String, _ bytes: [UInt8], exclusive: Bool) throws(IPAMError) {
        try mapped { () throws(SystemCallError) in
            try SystemFile.write(bytes, to: path, mode: exclusive ? .exclusive : .overwriteInPlace)
        }
    }

    /// Replaces `path` atomically (a temporary file next to it, fsynced, renamed over it), so a
    /// reader sees the old or the new content, never a part.
    static func replaceFile(_ path: String, _ bytes: [UInt8]) throws(IPAMError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        try mapped { () throws(SystemCallError) in
            try SystemFile.writeAtomically(bytes, to: path, directory: directory.isEmpty ? "/" : directory)
        }
    }

    static func listDirectory(_ path: String) throws(IPAMError) -> [String] {
        try mapped { () throws(SystemCallError) in try SystemFile.entries(path) }
    }

    /// Runs `body` holding the exclusive lock of `path` (waiting for it).
    static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let lock = try mapped { () throws(SystemCallError) in try FileLock(path: path) }
        let result: T
        do {
            result = try body()
        } catch {
            lock.unlock()
            throw error
        }
        lock.unlock()
        return result
    }

    private static func mapped<T: ~Copyable>(_ body: () throws(SystemCallError) -> T) throws(IPAMError) -> T {
        do throws(SystemCallError) {
            return try body()
        } catch {
            throw IPAMError(.ioFailed, error.operation, errno: error.errno)
        }
    }
}
