#if canImport(Glibc)
import Glibc
#endif

/// The error the Namespaces library throws: the operation, the namespace, and errno.
public struct NamespaceError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let openFailed = Code("cannot open network namespace")
        public static let createFailed = Code("cannot create network namespace")
        public static let deleteFailed = Code("cannot delete network namespace")
        public static let alreadyExists = Code("network namespace already exists")
        public static let invalidName = Code("invalid network namespace name")
        public static let enterFailed = Code("cannot enter network namespace")
        public static let threadFailed = Code("cannot start namespace thread")
    }

    public let code: Code
    /// The namespace's name or path.
    public let namespace: String
    public let errno: Int32?

    public init(_ code: Code, namespace: String, errno: Int32? = nil) {
        self.code = code
        self.namespace = namespace
        self.errno = errno
    }

    public var description: String {
        guard let errno else { return "\(code) \"\(namespace)\"" }
        return "\(code) \"\(namespace)\": \(String(cString: strerror(errno)))"
    }
}
