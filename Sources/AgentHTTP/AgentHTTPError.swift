/// The one error type of the AgentHTTP module.
public struct AgentHTTPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A listen address is not `ADDR:PORT` (or `[IPv6]:PORT`, or `:PORT`).
        public static let invalidListenAddress = Code("invalid listen address")
        /// The server could not bind its address or socket.
        public static let bindFailed = Code("bind failed")
    }

    public let code: Code
    public let message: String
    /// The lower-level error (NIO's, with its errno), when there is one.
    public let underlying: String?

    public init(_ code: Code, _ message: String, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)" + (underlying.map { " (\($0))" } ?? "") }
}
