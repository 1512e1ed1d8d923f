/// A Calico selector expression (`projectcalico.org/v3`), the subset:
/// `all()`, `k == 'v'`, `k != 'v'`, `has(k)`, `!has(k)`, `k in {'a','b'}`, `k not in {…}`,
/// `&&`, `||`, `!` and parentheses. Strings use single or double quotes.
///
/// As in Calico, `!=` and `not in` also match when the label is absent.
public indirect enum CalicoSelector: Hashable, Sendable, CustomStringConvertible {
    case all
    case equal(key: String, value: String)
    case notEqual(key: String, value: String)
    case has(key: String)
    case `in`(key: String, values: [String])
    case notIn(key: String, values: [String])
    case not(CalicoSelector)
    case and(CalicoSelector, CalicoSelector)
    case or(CalicoSelector, CalicoSelector)

    /// Parses selector text; throws ``PolicyError`` with code `invalidSelector` naming the
    /// position of the problem. Empty text is `all()`.
    public init(parsing text: String) throws {
        var parser = CalicoSelectorParser(text: text)
        self = try parser.parse()
    }

    public func matches(_ labels: [String: String]) -> Bool {
        switch self {
        case .all: return true
        case let .equal(key, value): return labels[key] == value
        case let .notEqual(key, value): return labels[key] != value
        case let .has(key): return labels[key] != nil
        case let .in(key, values): return labels[key].map { values.contains($0) } ?? false
        case let .notIn(key, values): return labels[key].map { !values.contains($0) } ?? true
        case let .not(inner): return !inner.matches(labels)
        case let .and(left, right): return left.matches(labels) && right.matches(labels)
        case let .or(left, right): return left.matches(labels) || right.matches(labels)
        }
    }

    /// Canonical text that parses back to an equal selector (fully parenthesized binaries).
    public var description: String {
        func quoted(_ value: String) -> String {
            value.contains("'") ? "\"\(value)\"" : "'\(value)'"
        }
        switch self {
        case .all: return "all()"
        case let .equal(key, value): return "\(key) == \(quoted(value))"
        case let .notEqual(key, value): return "\(key) != \(quoted(value))"
        case let .has(key): return "has(\(key))"
        case let .in(key, values): return "\(key) in {\(values.map(quoted).joined(separator: ", "))}"
        case let .notIn(key, values): return "\(key) not in {\(values.map(quoted).joined(separator: ", "))}"
        case let .not(inner): return "!(\(inner))"
        case let .and(left, right): return "(\(left) && \(right))"
        case let .or(left, right): return "(\(left) || \(right))"
        }
    }
}

/// Recursive-descent parser for ``CalicoSelector``.
struct CalicoSelectorParser {
    private let characters: [Character]
    private var position = 0
    private let text: String

    init(text: String) {
        self.text = text
        characters = Array(text)
    }

    mutating func parse() throws -> CalicoSelector {
        skipSpace()
        if position == characters.count { return .all }
        let expression = try parseOr()
        skipSpace()
        guard position == characters.count else { throw failure("unexpected '\(characters[position])'") }
        return expression
    }

    private mutating func parseOr() throws -> CalicoSelector {
        var left = try parseAnd()
        while consume("||") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> CalicoSelector {
        var left = try parseUnary()
        while consume("&&") { left = .and(left, try parseUnary()) }
        return left
    }

    private mutating func parseUnary() throws -> CalicoSelector {
        skipSpace()
        if peek("!") && !peek("!=") {
            position += 1
            return .not(try parseUnary())
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws -> CalicoSelector {
        skipSpace()
        if consume("(") {
            let inner = try parseOr()
            guard consume(")") else { throw failure("expected ')'") }
            return inner
        }
        guard position < characters.count else { throw failure("expected an expression") }
        let word = try parseKey()
        skipSpace()
        if word == "all" && consume("(") {
            guard consume(")") else { throw failure("expected ')' after all(") }
            return .all
        }
        if word == "has" && consume("(") {
            skipSpace()
            let key = try parseKey()
            guard consume(")") else { throw failure("expected ')' after has(\(key)") }
            return .has(key: key)
        }
        if consume("==") { return .equal(key: word, value: try parseString()) }
        if consume("!=") { return .notEqual(key: word, value: try parseString()) }
        if consumeWord("in") { return .in(key: word, values: try parseSet()) }
        if consumeWord("not") {
            guard consumeWord("in") else { throw failure("expected 'in' after 'not'") }
            return .notIn(key: word, values: try parseSet())
        }
        if position < characters.count {
            throw failure("unsupported operator after '\(word)'")
        }
        throw failure("expected an operator after '\(word)'")
    }

    private mutating func parseKey() throws -> String {
        skipSpace()
        let start = position
        while position < characters.count, Self.isKeyCharacter(characters[position]) { position += 1 }
        guard position > start else {
            if position < characters.count { throw failure("expected a label key, found '\(characters[position])'") }
            throw failure("expected a label key")
        }
        return String(characters[start..<position])
    }

    private mutating func parseString() throws -> String {
        skipSpace()
        guard position < characters.count, characters[position] == "'" || characters[position] == "\"" else {
            throw failure("expected a quoted string")
        }
        let quote = characters[position]
        position += 1
        let start = position
        while position < characters.count, characters[position] != quote { position += 1 }
        guard position < characters.count else { throw failure("unterminated string") }
        let value = String(characters[start..<position])
        position += 1
        return value
    }

    private mutating func parseSet() throws -> [String] {
        guard consume("{") else { throw failure("expected '{'") }
        var values: [String] = []
        if consume("}") { return values }
        repeat { values.append(try parseString()) } while consume(",")
        guard consume("}") else { throw failure("expected '}' or ','") }
        return values
    }

    private static func isKeyCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "_./-".contains(character))
    }

    private mutating func skipSpace() {
        while position < characters.count, characters[position].isWhitespace { position += 1 }
    }

    private func peek(_ token: String) -> Bool {
        let tokenCharacters = Array(token)
        guard position + tokenCharacters.count <= characters.count else { return false }
        return Array(characters[position..<position + tokenCharacters.count]) == tokenCharacters
    }

    private mutating func consume(_ token: String) -> Bool {
        skipSpace()
        guard peek(token) else { return false }
        position += token.count
        return true
    }

    /// Consumes a keyword only when it is a whole word (`in` but not `internal`).
    private mutating func consumeWord(_ word: String) -> Bool {
        skipSpace()
        guard peek(word) else { return false }
        let end = position + word.count
        if end < characters.count, Self.isKeyCharacter(characters[end]) { return false }
        position = end
        return true
    }

    private func failure(_ message: String) -> PolicyError {
        PolicyError(.invalidSelector, "\(message) at offset \(position) in \"\(text)\"")
    }
}
