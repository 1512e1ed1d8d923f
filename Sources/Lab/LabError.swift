/// The one error type of the Lab library: what failed, and how to clean up when it matters.
public struct LabError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure; open for extension.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A lab, node, pod or label name that is not allowed.
        public static let invalidName = Code("invalid name")
        /// An argument out of range (node count, port, timeout …).
        public static let invalidArgument = Code("invalid argument")
        /// `up` on a lab that already exists.
        public static let alreadyExists = Code("already exists")
        /// No such lab, node or pod.
        public static let notFound = Code("not found")
        /// Another command holds the lab's lock.
        public static let busy = Code("lab busy")
        /// A needed executable (agent, plugin, pod server, etcd) was not found.
        public static let missingExecutable = Code("missing executable")
        /// What the lab's profile does not offer (policy enforcement), or a profile this program does not know.
        public static let notAvailable = Code("not yet available")
        /// Creating a namespace, link, address or route failed.
        public static let kernel = Code("kernel operation failed")
        /// A CNI plugin call failed.
        public static let plugin = Code("plugin failed")
        /// A process (agent, pod server, etcd) failed to start or to become ready.
        public static let process = Code("process failed")
        /// Reading or writing the state directory failed.
        public static let state = Code("state failed")
        /// Something did not happen in time (an agent's subnet file, etcd health).
        public static let timedOut = Code("timed out")
    }

    public let code: Code
    public let message: String
    /// The underlying error's description, when another module's error caused this one.
    public let underlying: String?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying.map { String(describing: $0) }
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}
