#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The few file operations the plugin needs, on plain POSIX calls (no Foundation).
enum FileAccess {
    struct Failure: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var errorNumber: Int32
        var description: String { "\(operation) \(path): \(String(cString: strerror(errorNumber)))" }
    }

    static func read(_ path: String) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Failure(operation: "open", path: path, errorNumber: errno) }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = Glibc.read(descriptor, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "read", path: path, errorNumber: errno)
            }
            if count == 0 { return result }
            result += buffer[0..<count]
        }
    }

    /// Writes `contents` over an existing or new file (`O_TRUNC`), as host-local writes its
    /// `last_reserved_ip` files and as /proc/sys files are written.
    static func overwrite(_ path: String, contents: [UInt8]) throws(Failure) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(operation: "open", path: path, errorNumber: errno) }
        defer { close(descriptor) }
        guard write(descriptor, contents, contents.count) == contents.count else {
            throw Failure(operation: "write", path: path, errorNumber: errno)
        }
    }

    /// The names in a directory (without `.` and `..`).
    static func entries(_ path: String) throws(Failure) -> [String] {
        guard let directory = opendir(path) else { throw Failure(operation: "opendir", path: path, errorNumber: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}
