/// The one error type of the Datastore module.
///
/// `code` says what went wrong in a way callers can switch on; `message` is for humans;
/// `errno` carries the system error number when a system call failed; `endpoint` names the
/// etcd endpoint or store directory involved.
public struct DatastoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The store URL (`file:DIR`, `etcd:URL[,URL…]`) could not be parsed.
        public static let invalidStoreURL = Code("invalid store URL")
        /// A key is empty or not acceptable to the backend.
        public static let invalidKey = Code("invalid key")
        /// A lease does not exist (never granted, revoked or expired).
        public static let leaseNotFound = Code("lease not found")
        /// A watch asked for a revision that is no longer kept.
        public static let compacted = Code("revision compacted")
        /// No endpoint answered (every etcd endpoint refused, timed out or has no leader).
        public static let unavailable = Code("datastore unavailable")
        /// The backend answered with an error.
        public static let serverError = Code("server error")
        /// A response could not be understood.
        public static let protocolError = Code("protocol error")
        /// A file operation of the file backend failed.
        public static let ioFailed = Code("I/O failed")
        /// The stored state is unreadable.
        public static let corrupted = Code("state corrupted")
        /// A record (pod, node, block, lease…) does not decode; `key` names it.
        public static let malformedRecord = Code("malformed record")
        /// The operation took longer than allowed.
        public static let timedOut = Code("timed out")
        /// TLS could not be set up: a CA, certificate or key file that does not load, a server
        /// certificate the CA does not vouch for, a client certificate the server refuses or
        /// that has expired. Not retried on another endpoint: it is a configuration error.
        public static let tlsFailed = Code("TLS failed")
        /// etcd refused the user name or password, or requires them and none were given.
        public static let authenticationFailed = Code("authentication failed")
    }

    public let code: Code
    public let message: String
    public let errno: Int32?
    public let endpoint: String?
    /// The key of the record involved, for ``Code/malformedRecord``.
    public let key: String?

    public init(_ code: Code, _ message: String, errno: Int32? = nil, endpoint: String? = nil, key: String? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.endpoint = endpoint
        self.key = key
    }

    public var description: String {
        var text = key.map { "\(code) at \($0): \(message)" } ?? "\(code): \(message)"
        if let endpoint { text += " [\(endpoint)]" }
        if let errno { text += " (errno \(errno))" }
        return text
    }
}
