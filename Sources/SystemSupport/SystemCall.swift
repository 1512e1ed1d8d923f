#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A system call that failed: what was attempted (`open /var/lib/cni/x`) and its errno.
/// Callers map it into their module's public error type.
package struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    package let operation: String
    package let errno: Int32

    package init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    package var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

/// The one EINTR rule of the package: a system call interrupted by a signal is simply made
/// again.
package enum SystemCall {
    /// Runs `call` until it does not fail with EINTR and returns its result (errno is still
    /// set when the result is negative).
    @inline(__always)
    package static func retryingInterrupts<Result: BinaryInteger>(_ call: () -> Result) -> Result {
        while true {
            let result = call()
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    /// Writes all of `bytes` to `descriptor`, retrying interrupted and short writes.
    package static func writeAll(
        _ descriptor: Int32, _ bytes: some Collection<UInt8>, operation: @autoclosure () -> String
    ) throws(SystemCallError) {
        let result: Int32? = bytes.withContiguousStorageIfAvailable { buffer in
            writeAll(descriptor, UnsafeRawBufferPointer(buffer))
        } ?? Array(bytes).withUnsafeBytes { writeAll(descriptor, $0) }
        if let code = result { throw SystemCallError(operation(), errno: code) }
    }

    /// Nil on success, else the errno.
    private static func writeAll(_ descriptor: Int32, _ buffer: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < buffer.count {
            let written = retryingInterrupts { write(descriptor, buffer.baseAddress! + offset, buffer.count - offset) }
            if written < 0 { return errno }
            if written == 0 { return EIO }
            offset += written
        }
        return nil
    }

    /// Reads `descriptor` to its end, retrying interrupted reads.
    package static func readAll(
        _ descriptor: Int32, chunkSize: Int = 65536, operation: @autoclosure () -> String
    ) throws(SystemCallError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = retryingInterrupts { chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) } }
            if count < 0 { throw SystemCallError(operation(), errno: errno) }
            if count == 0 { return result }
            result += chunk[0..<count]
        }
    }
}
