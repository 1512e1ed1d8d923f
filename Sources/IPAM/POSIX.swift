#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few file calls IPAM needs. Internal.
enum POSIX {
    static func makeDirectories(_ path: String) throws(IPAMError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw IPAMError(.ioFailed, "mkdir \(current)", errno: errno)
            }
        }
    }

    static func readFile(_ path: String) throws(IPAMError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IPAMError(.ioFailed, "open \(path)", errno: errno) }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw IPAMError(.ioFailed, "read \(path)", errno: errno)
            }
            if count == 0 { return result }
            result += buffer[0..<count]
        }
    }

    /// Writes `bytes` to `path`: a new file when `exclusive` (fails if it exists), else the
    /// file is created or overwritten in place and then cut to the new length. Not truncating
    /// first keeps the file's block: on a file system mounted with `discard`, O_TRUNC frees it
    /// and the kernel issues a synchronous discard to the disk on every call (milliseconds
    /// under I/O load). Crash behaviour is the reference host-local's (`os.WriteFile`, O_TRUNC
    /// then write): neither is atomic, callers hold the store's lock.
    static func writeFile(_ path: String, _ bytes: [UInt8], exclusive: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw IPAMError(.ioFailed, "create \(path)", errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw IPAMError(.ioFailed, "write \(path)", errno: errno)
            }
            offset += written
        }
        if !exclusive, ftruncate(fd, off_t(bytes.count)) != 0 {
            throw IPAMError(.ioFailed, "truncate \(path)", errno: errno)
        }
    }

    /// Replaces `path` atomically: writes a temporary file next to it, fsyncs it and renames it
    /// over `path`.
    static func replaceFile(_ path: String, _ bytes: [UInt8]) throws(IPAMError) {
        let temporary = path + ".tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IPAMError(.ioFailed, "create \(temporary)", errno: errno) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let error = errno
                close(fd)
                unlink(temporary)
                throw IPAMError(.ioFailed, "write \(temporary)", errno: error)
            }
            offset += written
        }
        if fsync(fd) != 0 {
            let error = errno
            close(fd)
            unlink(temporary)
            throw IPAMError(.ioFailed, "fsync \(temporary)", errno: error)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = errno
            unlink(temporary)
            throw IPAMError(.ioFailed, "rename \(temporary) to \(path)", errno: error)
        }
    }

    static func listDirectory(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw IPAMError(.ioFailed, "opendir \(path)", errno: errno) }
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
