/// The error of the KubeSync module: a code, the message and, where a store key is concerned,
/// the key.
public struct KubeSyncError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A setting is invalid (a cluster CIDR, a mask size).
        public static let invalidArgument = Code(rawValue: "invalidArgument")
        /// A stored value under a key the sync manages does not decode; it is left alone.
        public static let malformedRecord = Code(rawValue: "malformedRecord")
        /// A key the sync would write is held by another writer (a plugin, the lab, an agent):
        /// it is left alone.
        public static let foreignKey = Code(rawValue: "foreignKey")
        /// The cluster CIDR has no free node CIDR left.
        public static let cidrsExhausted = Code(rawValue: "cidrsExhausted")
        /// The store or the API failed.
        public static let unavailable = Code(rawValue: "unavailable")
    }

    public var code: Code
    public var message: String
    public var key: String?

    public init(_ code: Code, _ message: String, key: String? = nil) {
        self.code = code
        self.message = message
        self.key = key
    }

    public var description: String { key.map { "\(message) (key \($0))" } ?? message }
}
