import Foundation

/// The targets of the package as Package.swift declares them, read from its text (the test
/// needs no SwiftPM at run time). Only the forms this manifest uses are understood:
/// `.target`, `.executableTarget`, `.systemLibrary` and `.testTarget` calls with `name:`,
/// optional `dependencies: [...]` (project targets as string literals, packages as
/// `.product(...)`) and optional `path:`.
struct PackageManifest {
    enum Kind: String {
        case library = "target"
        case executable = "executableTarget"
        case systemLibrary
        case test = "testTarget"
    }

    struct Target {
        var name: String
        var kind: Kind
        /// The directory, relative to the package root.
        var path: String
        /// Project targets this target depends on (package products are left out).
        var dependencies: [String]
        /// The name `import` uses (`swift-flanneld` is imported as `swift_flanneld`).
        var moduleName: String { name.replacingOccurrences(of: "-", with: "_") }
    }

    let root: URL
    let targets: [Target]

    subscript(name: String) -> Target? { targets.first { $0.name == name } }

    /// The package root: three levels above this file (Tests/ArchitectureTests/<file>).
    static func locateRoot(filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    init(root: URL = PackageManifest.locateRoot()) throws {
        self.root = root
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        targets = try Self.parseTargets(Self.strippingComments(text))
    }

    /// Every target reachable from `name` through dependencies (not including `name`).
    func closure(of name: String) -> Set<String> {
        var seen = Set<String>()
        var pending = self[name]?.dependencies ?? []
        while let next = pending.popLast() {
            if seen.insert(next).inserted { pending += self[next]?.dependencies ?? [] }
        }
        return seen
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static func strippingComments(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            guard let range = line.range(of: "//") else { return line }
            // A `//` inside a string literal (a URL) is not a comment.
            let before = line[..<range.lowerBound]
            return before.filter { $0 == "\"" }.count % 2 == 0 ? before : line
        }.joined(separator: "\n")
    }

    static func parseTargets(_ text: String) throws -> [Target] {
        let characters = Array(text)
        var targets: [Target] = []
        let kinds: [(String, Kind)] = [
            (".executableTarget(", .executable), (".systemLibrary(", .systemLibrary), (".testTarget(", .test), (".target(", .library),
        ]
        var index = 0
        while index < characters.count {
            guard characters[index] == "." else {
                index += 1
                continue
            }
            let rest = String(characters[index..<min(characters.count, index + 20)])
            guard let (opener, kind) = kinds.first(where: { rest.hasPrefix($0.0) }) else {
                index += 1
                continue
            }
            let start = index + opener.count
            let end = try matchingClose(characters, from: start, open: "(", close: ")")
            let body = String(characters[start..<end])
            index = end + 1
            // `.target(name:)` also appears inside dependency lists of other forms; a target
            // declaration always starts with `name:`.
            guard let name = firstString(after: "name:", in: body) else { continue }
            let path = firstString(after: "path:", in: body)
                ?? (kind == .test ? "Tests/\(name)" : "Sources/\(name)")
            var dependencies: [String] = []
            if let range = body.range(of: "dependencies:") {
                let list = Array(body[range.upperBound...])
                if let open = list.firstIndex(of: "[") {
                    let close = try matchingClose(list, from: open + 1, open: "[", close: "]")
                    var inner = String(list[(open + 1)..<close])
                    while let product = inner.range(of: #"\.product\([^)]*\)"#, options: .regularExpression) {
                        inner.removeSubrange(product)
                    }
                    dependencies = strings(in: inner)
                }
            }
            targets.append(Target(name: name, kind: kind, path: path, dependencies: dependencies))
        }
        guard !targets.isEmpty else { throw ParseError(description: "no targets found in Package.swift") }
        return targets
    }

    private static func matchingClose(_ characters: [Character], from start: Int, open: Character, close: Character) throws -> Int {
        var depth = 1
        var inString = false
        var index = start
        while index < characters.count {
            let character = characters[index]
            if character == "\"" { inString.toggle() }
            if !inString {
                if character == open { depth += 1 }
                if character == close {
                    depth -= 1
                    if depth == 0 { return index }
                }
            }
            index += 1
        }
        throw ParseError(description: "unbalanced \(open)\(close) in Package.swift")
    }

    private static func firstString(after label: String, in text: String) -> String? {
        guard let range = text.range(of: label) else { return nil }
        return strings(in: String(text[range.upperBound...])).first
    }

    private static func strings(in text: String) -> [String] {
        text.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }
}
