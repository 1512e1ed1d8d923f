import Foundation
import Testing

/// The "Write your first plugin" article shows code that `FirstPluginTests.swift` compiles and
/// runs. This keeps them from drifting apart: every Swift block of the article (but the `@main`
/// and the runtime-side one, which cannot run inside a test) appears in the test file, line for
/// line once indentation and blank lines are ignored.
@Suite struct ArticleSyncTests {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let article = testsDirectory
        .appendingPathComponent("../../Sources/CNISpec/CNISpec.docc/WriteYourFirstPlugin.md").standardized

    static func swiftBlocks(of markdown: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.hasPrefix("```swift") {
                current = []
            } else if current != nil, line.hasPrefix("```") {
                blocks.append(current!)
                current = nil
            } else {
                current?.append(String(line))
            }
        }
        return blocks
    }

    static func normalized(_ lines: some Sequence<some StringProtocol>) -> [String] {
        lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("import ") }
    }

    @Test func theArticlesCodeIsTheCodeTheTestsRun() throws {
        let markdown = try String(contentsOf: Self.article, encoding: .utf8)
        let tests = Self.normalized(
            try String(contentsOf: Self.testsDirectory.appendingPathComponent("FirstPluginTests.swift"), encoding: .utf8)
                .split(separator: "\n", omittingEmptySubsequences: false))
        let blocks = Self.swiftBlocks(of: markdown).filter { block in
            !block.contains { $0.contains("@main") || $0.contains("CNIRuntime(") }
        }
        #expect(blocks.count >= 2, "the article's plugin and test blocks")
        for block in blocks {
            let lines = Self.normalized(block)
            let found = tests.indices.contains { start in
                start + lines.count <= tests.count && Array(tests[start..<start + lines.count]) == lines
            }
            #expect(found, "a block of WriteYourFirstPlugin.md beginning \"\(lines.first ?? "")\" is not in FirstPluginTests.swift")
        }
    }
}
