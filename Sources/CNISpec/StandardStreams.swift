#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
internal import SystemSupport

/// Where a plugin's output goes: the process's stdout/stderr, or a buffer in tests.
public struct OutputSink: Sendable {
    private let writer: @Sendable ([UInt8]) -> Void

    public init(_ writer: @escaping @Sendable ([UInt8]) -> Void) { self.writer = writer }

    public func write(_ bytes: [UInt8]) { writer(bytes) }
    public func write(_ text: String) { writer(Array(text.utf8)) }

    /// File descriptor 1.
    public static var standardOutput: OutputSink { OutputSink { writeAll(1, $0) } }
    /// File descriptor 2.
    public static var standardError: OutputSink { OutputSink { writeAll(2, $0) } }
    /// Discards everything.
    public static var discard: OutputSink { OutputSink { _ in } }

    /// Appends to `buffer`.
    public static func collecting(into buffer: OutputBuffer) -> OutputSink {
        OutputSink { bytes in buffer.append(bytes) }
    }

    /// Best effort: a closed stdout or stderr has nobody to report to.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        try? SystemCall.writeAll(fd, bytes, operation: "write")
    }
}

/// A thread-safe byte buffer that collects a plugin's output in tests.
public final class OutputBuffer: Sendable {
    private let storage = Mutex<[UInt8]>([])

    public init() {}

    public func append(_ bytes: [UInt8]) { storage.withLock { $0 += bytes } }
    public var bytes: [UInt8] { storage.withLock { $0 } }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Where a plugin reads its configuration from.
public struct InputSource: Sendable {
    private let reader: @Sendable () throws(CNIError) -> [UInt8]

    public init(_ reader: @escaping @Sendable () throws(CNIError) -> [UInt8]) { self.reader = reader }

    public func readAll() throws(CNIError) -> [UInt8] { try reader() }

    /// Fixed bytes (tests, in-process runs).
    public static func bytes(_ bytes: [UInt8]) -> InputSource { InputSource { bytes } }

    /// File descriptor 0, read to its end.
    public static var standardInput: InputSource {
        InputSource { () throws(CNIError) -> [UInt8] in
            do throws(SystemCallError) {
                return try SystemCall.readAll(0, operation: "read stdin")
            } catch {
                throw CNIError(.ioFailure, "error reading from stdin", details: String(cString: strerror(error.errno)))
            }
        }
    }
}

/// The environment of the running process.
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let separator = text.firstIndex(of: "=") {
                result[String(text[..<separator])] = String(text[text.index(after: separator)...])
            }
            pointer += 1
        }
        return result
    }
}
