/// A Kubernetes label selector (`matchLabels` and `matchExpressions`), as used by
/// `podSelector` and `namespaceSelector`. All requirements are ANDed; the empty selector
/// matches everything.
public struct LabelSelector: Hashable, Sendable, CustomStringConvertible {
    /// One `matchExpressions` entry.
    public struct Requirement: Hashable, Sendable, CustomStringConvertible {
        public enum Operator: String, Hashable, Sendable, CaseIterable {
            case `in` = "In"
            case notIn = "NotIn"
            case exists = "Exists"
            case doesNotExist = "DoesNotExist"
        }

        public var key: String
        public var `operator`: Operator
        /// Non-empty for `In`/`NotIn`, empty for `Exists`/`DoesNotExist`.
        public var values: [String]

        public init(key: String, operator: Operator, values: [String] = []) {
            self.key = key
            self.operator = `operator`
            self.values = values
        }

        public func matches(_ labels: [String: String]) -> Bool {
            switch `operator` {
            case .in: return labels[key].map { values.contains($0) } ?? false
            // As in Kubernetes: NotIn also matches when the key is absent.
            case .notIn: return labels[key].map { !values.contains($0) } ?? true
            case .exists: return labels[key] != nil
            case .doesNotExist: return labels[key] == nil
            }
        }

        public var description: String {
            switch `operator` {
            case .in: "\(key) in (\(values.sorted().joined(separator: ",")))"
            case .notIn: "\(key) notin (\(values.sorted().joined(separator: ",")))"
            case .exists: key
            case .doesNotExist: "!\(key)"
            }
        }
    }

    public var matchLabels: [String: String]
    public var matchExpressions: [Requirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [Requirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// The selector that matches every set of labels (`{}`).
    public static let everything = LabelSelector()

    public var isEmpty: Bool { matchLabels.isEmpty && matchExpressions.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels where labels[key] != value { return false }
        return matchExpressions.allSatisfy { $0.matches(labels) }
    }

    /// Canonical text in `kubectl -l` syntax (sorted), stable across runs; `<all>` when empty.
    public var description: String {
        let parts = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + matchExpressions.map(\.description).sorted()
        return parts.isEmpty ? "<all>" : parts.joined(separator: ",")
    }
}
