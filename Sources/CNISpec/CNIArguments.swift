/// `CNI_ARGS`: "K=V;K=V" pairs given by the runtime for one invocation.
///
/// A plugin reads the keys it knows with ``values(known:)``; an unknown key is an error unless
/// the arguments contain `IgnoreUnknown=1` (or `true`), as in the reference library.
public struct CNIArguments: Hashable, Sendable, CustomStringConvertible {
    public struct Pair: Hashable, Sendable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    public var pairs: [Pair]

    public init(_ pairs: [Pair] = []) { self.pairs = pairs }

    /// Parses "K=V;K=V"; each pair needs exactly one "=".
    public init(parsing text: String) throws(CNIError) {
        guard !text.isEmpty else {
            self.pairs = []
            return
        }
        var pairs: [Pair] = []
        for pair in text.split(separator: ";", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw CNIError(.invalidEnvironmentVariables, "CNI_ARGS: invalid pair \"\(pair)\"")
            }
            pairs.append(Pair(key: String(parts[0]), value: String(parts[1])))
        }
        self.pairs = pairs
    }

    /// The last value of `key`.
    public subscript(key: String) -> String? { pairs.last(where: { $0.key == key })?.value }

    /// Whether `IgnoreUnknown` is "1" or "true" (any case).
    public var ignoresUnknown: Bool {
        guard let value = self["IgnoreUnknown"]?.lowercased() else { return false }
        return value == "1" || value == "true"
    }

    /// The values of the `known` keys; fails naming the unknown pairs unless ``ignoresUnknown``.
    public func values(known: Set<String>) throws(CNIError) -> [String: String] {
        var values: [String: String] = [:]
        var unknown: [String] = []
        for pair in pairs {
            if known.contains(pair.key) {
                values[pair.key] = pair.value
            } else if pair.key != "IgnoreUnknown" {
                unknown.append("\(pair.key)=\(pair.value)")
            }
        }
        if !unknown.isEmpty, !ignoresUnknown {
            throw CNIError(.invalidEnvironmentVariables, "CNI_ARGS: unknown args \(unknown)")
        }
        return values
    }

    /// "K=V;K=V", as the runtime passes it.
    public var description: String { pairs.map { "\($0.key)=\($0.value)" }.joined(separator: ";") }
}
