import Foundation

/// One `import` declaration of a source file.
struct SourceImport: Hashable, CustomStringConvertible {
    /// The importing target (its name in Package.swift).
    var importer: String
    /// The imported module.
    var module: String
    /// `public`, `package`, `internal`, `private`, `fileprivate`, or nil when none is written
    /// (an unmarked import is public in Swift 6 language mode).
    var access: String?
    /// `@_implementationOnly`, `@testable`, `@preconcurrency`…
    var attributes: [String]
    /// Path relative to the package root, and 1-based line.
    var file: String
    var line: Int

    var description: String { "\(file):\(line): \(importer) imports \(module)" + (access.map { " (\($0))" } ?? "") }

    /// Whether clients of the importer cannot see the imported module.
    var isHidden: Bool { ["internal", "private", "fileprivate"].contains(access ?? "") || attributes.contains("@_implementationOnly") }
}

enum SourceScanner {
    // `[attributes] [access] import [kind] Module[.Sub]` at the start of a line.
    nonisolated(unsafe) static let pattern = #/^\s*((?:@\w+\s+)*)(?:(public|package|internal|private|fileprivate)\s+)?import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func|actor)\s+)?([A-Za-z_][A-Za-z0-9_]*)/#

    /// Every import in the Swift files of the given targets.
    static func imports(of targets: [PackageManifest.Target], root: URL) throws -> [SourceImport] {
        var result: [SourceImport] = []
        for target in targets {
            let directory = root.appendingPathComponent(target.path)
            guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) else { continue }
            // A documentation catalog is not compiled (its .swift files are tutorial code shown as text).
            for case let url as URL in enumerator where url.pathExtension == "swift" && !url.path.contains(".docc/") {
                let text = try String(contentsOf: url, encoding: .utf8)
                let relative = String(url.path.dropFirst(root.path.count + 1))
                result += imports(in: text, importer: target.name, file: relative)
            }
        }
        return result
    }

    static func imports(in text: String, importer: String, file: String) -> [SourceImport] {
        var result: [SourceImport] = []
        var inBlockComment = false
        var inMultilineString = false
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Imports inside `/* */` comments or `"""` strings (snippets) do not count.
            let quotes = line.components(separatedBy: "\"\"\"").count - 1
            defer { if quotes % 2 == 1 { inMultilineString.toggle() } }
            if inMultilineString { continue }
            if inBlockComment {
                if line.contains("*/") { inBlockComment = false }
                continue
            }
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("/*"), !line.contains("*/") {
                inBlockComment = true
                continue
            }
            guard let match = try? pattern.prefixMatch(in: line) else { continue }
            let attributes = match.output.1.split(whereSeparator: \.isWhitespace).map(String.init)
            result.append(SourceImport(
                importer: importer, module: String(match.output.3), access: match.output.2.map(String.init),
                attributes: attributes, file: file, line: offset + 1))
        }
        return result
    }
}
