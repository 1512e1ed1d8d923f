/// The one error type of the PolicyAgent module.
public struct PolicyAgentError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A stored document (pod record, label map, policy) could not be decoded.
        public static let malformedRecord = Code("malformed record")
        /// The Datastore failed (list or watch).
        public static let datastore = Code("datastore")
        /// The kernel refused the policy rule set.
        public static let enforcement = Code("enforcement")
    }

    public var code: Code
    public var message: String
    /// The store key concerned, if any.
    public var key: String?
    /// The underlying error, described.
    public var underlying: String?

    public init(_ code: Code, _ message: String, key: String? = nil, underlying: String? = nil) {
        self.code = code
        self.message = message
        self.key = key
        self.underlying = underlying
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let key { text += " (key \(key))" }
        if let underlying { text += ": \(underlying)" }
        return text
    }
}
