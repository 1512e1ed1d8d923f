/// The one error type of the HTTPTransport module.
///
/// `code` says what went wrong; `message` is for humans and names the file or setting to fix;
/// `errno` carries the system error number when a system call failed; `endpoint` names the
/// server (`https://10.0.0.1:6443`). Callers map it into their own module's error type.
public struct HTTPTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// An endpoint URL that does not parse (`http://HOST:PORT`, `https://HOST:PORT`).
        public static let invalidURL = Code("invalid URL")
        /// The server could not be reached, or the connection broke.
        public static let unavailable = Code("unavailable")
        /// Connecting or the whole exchange took longer than the timeout.
        public static let timedOut = Code("timed out")
        /// TLS could not be set up: a CA, certificate or key that does not load, a server
        /// certificate the CA does not vouch for, a client certificate the server refuses or that
        /// has expired. A configuration error: retrying elsewhere does not help.
        public static let tlsFailed = Code("TLS failed")
        /// A response that is not HTTP/1.1 as expected.
        public static let protocolError = Code("protocol error")
    }

    public let code: Code
    public let message: String
    public let errno: Int32?
    public let endpoint: String?

    public init(_ code: Code, _ message: String, errno: Int32? = nil, endpoint: String? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.endpoint = endpoint
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let endpoint { text += " [\(endpoint)]" }
        if let errno { text += " (errno \(errno))" }
        return text
    }
}
