/// The one error type of AgentHTTP and of the agents built on it (swift-flanneld,
/// swift-calico-node, swift-canald): a message for the operator with a code to match on.
public struct AgentError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A listen address is not `ADDR:PORT` (or `[IPv6]:PORT`, or `:PORT`).
        public static let invalidListenAddress = Code("invalid listen address")
        /// The server could not bind its address or socket.
        public static let bindFailed = Code("bind failed")
        /// A ``StatusClient`` could not reach the agent, or got no answer in time.
        public static let unreachable = Code("agent unreachable")
        /// The agent's answer is not HTTP, or not what the client asked for.
        public static let malformedResponse = Code("malformed response")
        /// An agent's configuration (file, flags or network configuration) is not valid.
        public static let invalidConfiguration = Code("invalid configuration")
        /// The agent cannot go on (its node, its lease or its data path changed under it).
        public static let failed = Code("agent failed")
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
