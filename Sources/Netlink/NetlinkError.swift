#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the Netlink library: which operation failed, the errno, and the
/// kernel's extended-ACK message when it sent one ("Nexthop has invalid gateway").
public struct NetlinkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The kernel refused a request (errno and, when sent, the extended ACK say why).
        public static let kernelError = Code("kernel error")
        /// A socket could not be opened, bound or configured.
        public static let socketFailed = Code("netlink socket failed")
        /// An argument was refused before any system call (a name too long, a bad family).
        public static let invalidArgument = Code("invalid argument")
        /// The requested object does not exist.
        public static let notFound = Code("not found")
        /// A reply could not be parsed.
        public static let malformedReply = Code("malformed netlink reply")
        /// A dump was interrupted more often than the core retries.
        public static let dumpInterrupted = Code("dump interrupted")
        /// Reading or writing /proc/sys failed.
        public static let sysctlFailed = Code("sysctl failed")
        /// An nftables batch was refused; nothing of it was applied.
        public static let batchFailed = Code("nftables batch failed")
    }

    public let code: Code
    /// The operation, spelled like its `ip`/`bridge`/`nft` equivalent ("route add 10.0.0.0/24").
    public let operation: String
    /// The errno the kernel (or the system call) returned, when there was one.
    public let errno: Int32?
    /// The kernel's extended-ACK text, when it sent one.
    public let kernelMessage: String?

    public init(_ code: Code, operation: String, errno: Int32? = nil, kernelMessage: String? = nil) {
        self.code = code
        self.operation = operation
        self.errno = errno
        self.kernelMessage = kernelMessage
    }

    public var description: String {
        var text = "\(operation): \(code)"
        if let errno { text += ": \(String(cString: strerror(errno)))" }
        if let kernelMessage, !kernelMessage.isEmpty { text += " (kernel: \(kernelMessage))" }
        return text
    }
}
