#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The error ChildProcess throws: the step that failed and its errno.
public struct ChildProcessError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let spawnFailed = Code("spawn failed")
        public static let executableNotFound = Code("executable not found")
        public static let pipeFailed = Code("pipe failed")
        public static let ioFailed = Code("I/O with the child failed")
        public static let waitFailed = Code("wait failed")
        public static let timedOut = Code("timed out")
    }

    public let code: Code
    public let executable: String
    public let errno: Int32?

    public init(_ code: Code, executable: String, errno: Int32? = nil) {
        self.code = code
        self.executable = executable
        self.errno = errno
    }

    public var description: String {
        guard let errno else { return "\(code): \(executable)" }
        return "\(code): \(executable): \(String(cString: strerror(errno)))"
    }
}
