/// The error of the Weave module: the agent's local socket and its protocol.
public struct WeaveError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The agent's socket does not exist or nobody listens on it (the agent is down).
        public static let agentUnavailable = Code("agent unavailable")
        /// A socket call failed (see the message for the call and errno).
        public static let systemCall = Code("system call failed")
        /// A request or answer that does not decode, or one too large.
        public static let malformedMessage = Code("malformed message")
        /// The agent answered with an error (its message is the text).
        public static let refused = Code("refused by the agent")
        /// No answer within the time allowed.
        public static let timedOut = Code("timed out")
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code("invalid configuration")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
