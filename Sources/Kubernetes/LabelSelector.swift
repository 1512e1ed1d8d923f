/// A label selector in the API's text form (`app=web,tier!=db,env in (a,b),!legacy`),
/// parsed; ``matches(_:)`` says whether a set of labels satisfies it.
public struct LabelSelector: Hashable, Sendable, CustomStringConvertible {
    public enum Requirement: Hashable, Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }

    public var requirements: [Requirement]
    private let text: String

    /// Parses the text form; an empty text selects everything. Throws
    /// ``KubernetesError/Code/badRequest`` with the offending part.
    public init(_ text: String) throws {
        self.text = text
        requirements = []
        for term in Self.splitTerms(text) {
            let term = term.trimmingSpaces()
            if term.isEmpty { continue }
            requirements.append(try Self.parse(term))
        }
    }

    public var description: String { text }

    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .isIn(let key, let values): labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
            case .exists(let key): labels[key] != nil
            case .doesNotExist(let key): labels[key] == nil
            }
        }
    }

    /// Splits on commas outside parentheses.
    private static func splitTerms(_ text: String) -> [String] {
        var terms: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            switch character {
            case "(": depth += 1; current.append(character)
            case ")": depth -= 1; current.append(character)
            case "," where depth == 0: terms.append(current); current = ""
            default: current.append(character)
            }
        }
        terms.append(current)
        return terms
    }

    private static func parse(_ term: String) throws -> Requirement {
        func invalid() -> KubernetesError { KubernetesError(.badRequest, "unable to parse requirement: '\(term)'") }
        func key(_ text: Substring) throws -> String {
            let key = String(text).trimmingSpaces()
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) else { throw invalid() }
            return key
        }
        if term.hasPrefix("!") { return .doesNotExist(try key(term.dropFirst())) }
        if let range = term.firstRange(of: "!=") {
            return .notEquals(try key(term[..<range.lowerBound]), String(term[range.upperBound...]).trimmingSpaces())
        }
        if let range = term.firstRange(of: "==") {
            return .equals(try key(term[..<range.lowerBound]), String(term[range.upperBound...]).trimmingSpaces())
        }
        if let range = term.firstRange(of: "=") {
            return .equals(try key(term[..<range.lowerBound]), String(term[range.upperBound...]).trimmingSpaces())
        }
        for (word, isIn) in [(" notin ", false), (" in ", true)] {
            if let range = term.firstRange(of: word) {
                let rest = term[range.upperBound...].trimmingSpaces()
                guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw invalid() }
                let values = Set(rest.dropFirst().dropLast().split(separator: ",").map { String($0).trimmingSpaces() })
                let name = try key(term[..<range.lowerBound])
                return isIn ? .isIn(name, values) : .notIn(name, values)
            }
        }
        return .exists(try key(Substring(term)))
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }

    /// Without leading and trailing spaces, tabs and line breaks.
    func trimmedWhitespace() -> String {
        String(drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}
