/// A configuration document as a tree: the subset of YAML that kubeconfig files use, and JSON.
///
/// kubeconfig is YAML (client-go reads it with a YAML parser, so JSON works too). A plugin
/// binary cannot afford a YAML library on every ADD, and kubeconfigs written by kubeadm,
/// kubectl, Calico's installer or `cnilab kubeconfig` use a small part of YAML. Read here:
/// block mappings and sequences by indentation (sequences at their key's indentation too),
/// flow mappings and sequences (`{server: "…", certificate-authority: ca.crt}`, `[]`, `{}`),
/// plain, single-quoted and double-quoted scalars, comments, a leading `---`; and a whole
/// document in JSON. Not read, each with an error saying so: anchors and aliases, tags,
/// block scalars (`|`, `>`), multi-line plain scalars, several documents.
indirect enum ConfigurationNode: Equatable, Sendable {
    case scalar(String)
    case mapping([String: ConfigurationNode])
    case sequence([ConfigurationNode])

    subscript(key: String) -> ConfigurationNode? {
        if case .mapping(let fields) = self { return fields[key] }
        return nil
    }

    /// A scalar's text; nil for a mapping, a sequence, or YAML's null.
    var string: String? {
        guard case .scalar(let text) = self, text != "~", text != "null" else { return nil }
        return text
    }

    var bool: Bool? {
        switch string?.lowercased() {
        case "true", "yes", "on": true
        case "false", "no", "off": false
        default: nil
        }
    }

    var items: [ConfigurationNode] {
        if case .sequence(let items) = self { return items }
        return []
    }
}

struct ConfigurationSyntaxError: Error, CustomStringConvertible {
    var line: Int
    var message: String
    var description: String { line > 0 ? "line \(line): \(message)" : message }
}

/// The parser of ``ConfigurationNode``.
struct ConfigurationParser {
    private struct Line {
        var number: Int
        var indent: Int
        var text: String
    }

    private var lines: [Line] = []
    private var index = 0

    static func parse(_ text: String) throws(ConfigurationSyntaxError) -> ConfigurationNode {
        let trimmed = text.drop { $0.isWhitespace || $0 == "\u{FEFF}" }
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
            var scanner = FlowScanner(text: Array(trimmed.unicodeScalars), line: 0)
            let node = try scanner.value()
            try scanner.expectEnd()
            return node
        }
        var parser = ConfigurationParser()
        try parser.split(text)
        guard !parser.lines.isEmpty else { return .mapping([:]) }
        let node = try parser.block(indent: parser.lines[0].indent)
        if parser.index < parser.lines.count {
            throw ConfigurationSyntaxError(line: parser.lines[parser.index].number, message: "unexpected indentation")
        }
        return node
    }

    private mutating func split(_ text: String) throws(ConfigurationSyntaxError) {
        var number = 0
        var started = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let body = Self.removingComment(line)
            let content = body.drop { $0 == " " }
            if content.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if content.hasPrefix("\t") { throw ConfigurationSyntaxError(line: number, message: "tabs do not indent YAML") }
            if content.hasPrefix("---") && body.count == content.count {
                if started { throw ConfigurationSyntaxError(line: number, message: "several YAML documents are not supported") }
                started = true
                continue
            }
            if content == "..." { break }
            started = true
            var end = content
            while let last = end.last, last == " " || last == "\t" { end = end.dropLast() }
            lines.append(Line(number: number, indent: body.count - content.count, text: String(end)))
        }
    }

    /// The line without a comment (`#` at its start or after a blank, outside quotes).
    private static func removingComment(_ line: Substring) -> Substring {
        var quote: Character?
        var previous: Character = " "
        for position in line.indices {
            let character = line[position]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                if previous == " " || previous == "{" || previous == "[" || previous == "," || previous == ":" { quote = character }
            } else if character == "#", previous == " " || previous == "\t" {
                return line[..<position]
            }
            previous = character
        }
        return line.first == "#" ? "" : line
    }

    private static func isSequenceItem(_ text: String) -> Bool { text == "-" || text.hasPrefix("- ") }

    /// The node whose lines start at `indent`.
    private mutating func block(indent: Int) throws(ConfigurationSyntaxError) -> ConfigurationNode {
        let first = lines[index]
        if Self.isSequenceItem(first.text) { return try sequence(indent: indent) }
        if try Self.splitKey(first.text, line: first.number) != nil { return try mapping(indent: indent) }
        index += 1
        return try Self.inline(first.text, line: first.number)
    }

    private mutating func sequence(indent: Int) throws(ConfigurationSyntaxError) -> ConfigurationNode {
        var items: [ConfigurationNode] = []
        while index < lines.count, lines[index].indent == indent, Self.isSequenceItem(lines[index].text) {
            let line = lines[index]
            let rest = line.text.dropFirst().drop { $0 == " " }
            if rest.isEmpty {
                index += 1
                if index < lines.count, lines[index].indent > indent {
                    items.append(try block(indent: lines[index].indent))
                } else {
                    items.append(.scalar("null"))
                }
            } else {
                // "- key: value" continues as a mapping at the column of "key".
                lines[index] = Line(number: line.number, indent: indent + (line.text.count - rest.count), text: String(rest))
                items.append(try block(indent: lines[index].indent))
            }
        }
        return .sequence(items)
    }

    private mutating func mapping(indent: Int) throws(ConfigurationSyntaxError) -> ConfigurationNode {
        var fields: [String: ConfigurationNode] = [:]
        while index < lines.count, lines[index].indent == indent, !Self.isSequenceItem(lines[index].text) {
            let line = lines[index]
            guard let (key, value) = try Self.splitKey(line.text, line: line.number) else {
                throw ConfigurationSyntaxError(line: line.number, message: "expected \"key: value\"")
            }
            if fields[key] != nil { throw ConfigurationSyntaxError(line: line.number, message: "duplicate key \"\(key)\"") }
            index += 1
            if !value.isEmpty {
                if value.hasPrefix("|") || value.hasPrefix(">") {
                    throw ConfigurationSyntaxError(line: line.number, message: "block scalars (| and >) are not supported")
                }
                fields[key] = try Self.inline(value, line: line.number)
            } else if index < lines.count, lines[index].indent > indent {
                fields[key] = try block(indent: lines[index].indent)
            } else if index < lines.count, lines[index].indent == indent, Self.isSequenceItem(lines[index].text) {
                fields[key] = try sequence(indent: indent)
            } else {
                fields[key] = .scalar("null")
            }
        }
        return .mapping(fields)
    }

    /// `key: value` (or `key:`) split at the first `:` outside quotes that ends the line or is
    /// followed by a blank; nil when the line is no mapping entry.
    private static func splitKey(_ text: String, line: Int) throws(ConfigurationSyntaxError) -> (String, String)? {
        let characters = Array(text)
        if let first = characters.first, first == "\"" || first == "'" {
            var scanner = FlowScanner(text: Array(text.unicodeScalars), line: line)
            let key = try scanner.quoted()
            let rest = String(String.UnicodeScalarView(scanner.remaining)).drop { $0 == " " }
            guard rest.hasPrefix(":") else { return nil }
            return (key, String(rest.dropFirst()).trimmed())
        }
        if let first = characters.first, "{[&*!|>%@`".contains(first) { return nil }
        for position in characters.indices where characters[position] == ":" {
            if position + 1 == characters.count || characters[position + 1] == " " {
                let key = String(characters[..<position]).trimmed()
                return (key, String(characters[(position + 1)...]).trimmed())
            }
        }
        return nil
    }

    /// A value on one line: flow collection, quoted or plain scalar.
    private static func inline(_ text: String, line: Int) throws(ConfigurationSyntaxError) -> ConfigurationNode {
        if let first = text.first, "&*!".contains(first) {
            throw ConfigurationSyntaxError(line: line, message: "anchors, aliases and tags are not supported")
        }
        if let first = text.first, "{[\"'".contains(first) {
            var scanner = FlowScanner(text: Array(text.unicodeScalars), line: line)
            let node = try scanner.value()
            try scanner.expectEnd()
            return node
        }
        return .scalar(text)
    }
}

/// Flow-style YAML (and JSON): `{k: v, …}`, `[a, …]`, quoted and plain scalars.
private struct FlowScanner {
    var text: [Unicode.Scalar]
    var position = 0
    var line: Int

    init(text: [Unicode.Scalar], line: Int) {
        self.text = text
        self.line = line
    }

    var remaining: ArraySlice<Unicode.Scalar> { text[position...] }

    private func error(_ message: String) -> ConfigurationSyntaxError { ConfigurationSyntaxError(line: line, message: message) }

    private mutating func skipBlanks() {
        while position < text.count, text[position].properties.isWhitespace { position += 1 }
    }

    mutating func expectEnd() throws(ConfigurationSyntaxError) {
        skipBlanks()
        if position < text.count { throw error("unexpected text after the value") }
    }

    mutating func value() throws(ConfigurationSyntaxError) -> ConfigurationNode {
        skipBlanks()
        guard position < text.count else { throw error("a value is missing") }
        switch text[position] {
        case "{":
            position += 1
            var fields: [String: ConfigurationNode] = [:]
            skipBlanks()
            if position < text.count, text[position] == "}" {
                position += 1
                return .mapping(fields)
            }
            while true {
                skipBlanks()
                let key = position < text.count && (text[position] == "\"" || text[position] == "'") ? try quoted() : plain(inKey: true)
                skipBlanks()
                guard position < text.count, text[position] == ":" else { throw error("expected \":\" after \"\(key)\"") }
                position += 1
                fields[key] = try value()
                skipBlanks()
                guard position < text.count else { throw error("unterminated {") }
                if text[position] == "," { position += 1; continue }
                if text[position] == "}" { position += 1; return .mapping(fields) }
                throw error("expected \",\" or \"}\"")
            }
        case "[":
            position += 1
            var items: [ConfigurationNode] = []
            skipBlanks()
            if position < text.count, text[position] == "]" {
                position += 1
                return .sequence(items)
            }
            while true {
                items.append(try value())
                skipBlanks()
                guard position < text.count else { throw error("unterminated [") }
                if text[position] == "," { position += 1; continue }
                if text[position] == "]" { position += 1; return .sequence(items) }
                throw error("expected \",\" or \"]\"")
            }
        case "\"", "'":
            return .scalar(try quoted())
        default:
            let word = plain(inKey: false)
            guard !word.isEmpty else { throw error("a value is missing") }
            return .scalar(word)
        }
    }

    /// A plain scalar up to a flow indicator (and, in a key, up to `:`).
    private mutating func plain(inKey: Bool) -> String {
        let start = position
        while position < text.count {
            let character = text[position]
            if character == "," || character == "}" || character == "]" { break }
            if inKey, character == ":" { break }
            position += 1
        }
        return String(String.UnicodeScalarView(text[start..<position])).trimmed()
    }

    /// A double-quoted (with escapes) or single-quoted (`''` for a quote) scalar.
    mutating func quoted() throws(ConfigurationSyntaxError) -> String {
        let quote = text[position]
        position += 1
        var result = String.UnicodeScalarView()
        while position < text.count {
            let character = text[position]
            position += 1
            if character == quote {
                if quote == "'", position < text.count, text[position] == "'" {
                    result.append("'")
                    position += 1
                    continue
                }
                return String(result)
            }
            if quote == "\"", character == "\\" {
                guard position < text.count else { break }
                let escaped = text[position]
                position += 1
                switch escaped {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                case "0": result.append("\0")
                case "u":
                    guard position + 4 <= text.count,
                        let value = UInt32(String(String.UnicodeScalarView(text[position..<position + 4])), radix: 16),
                        let scalar = Unicode.Scalar(value)
                    else { throw error("bad \\u escape") }
                    result.append(scalar)
                    position += 4
                default: result.append(escaped)
                }
                continue
            }
            result.append(character)
        }
        throw error("unterminated quoted string")
    }
}

extension StringProtocol {
    func trimmed() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
