import Foundation
import Testing

/// The module graph in Documentation/Architecture.md is generated from Package.swift: this test
/// fails when they differ. `scripts/update-module-graph.sh` (or
/// `SWIFTCNI_UPDATE_MODULE_GRAPH=1 swift test --filter ModuleGraph`) rewrites it.
@Suite("Module graph")
struct ModuleGraphTests {
    static let begin = "<!-- module-graph:begin (generated from Package.swift by scripts/update-module-graph.sh; do not edit) -->"
    static let end = "<!-- module-graph:end -->"

    /// Libraries (with the C modules) as a mermaid graph, an arrow per declared dependency;
    /// then each executable and its project dependencies.
    static func render(_ manifest: PackageManifest) -> String {
        let libraries = manifest.targets.filter { ($0.kind == .library || $0.kind == .systemLibrary) && $0.path.hasPrefix("Sources/") }
        let names = Set(libraries.map(\.name))
        var lines = ["```mermaid", "flowchart BT"]
        for target in libraries.sorted(by: { $0.name < $1.name }) {
            let dependencies = target.dependencies.filter(names.contains).sorted()
            if dependencies.isEmpty { lines.append("    \(target.name)") }
            for dependency in dependencies { lines.append("    \(target.name) --> \(dependency)") }
        }
        lines.append("```")
        lines.append("")
        lines.append("| Executable | Directory | Project dependencies |")
        lines.append("|---|---|---|")
        for target in manifest.targets.filter({ $0.kind == .executable }).sorted(by: { $0.path < $1.path }) {
            lines.append("| `\(target.name)` | `\(target.path)` | \(target.dependencies.sorted().joined(separator: ", ")) |")
        }
        return lines.joined(separator: "\n")
    }

    @Test func architectureDocumentShowsTheGraph() throws {
        let manifest = try PackageManifest()
        let url = manifest.root.appendingPathComponent("Documentation/Architecture.md")
        let document = try String(contentsOf: url, encoding: .utf8)
        let graph = Self.render(manifest)
        guard let start = document.range(of: Self.begin), let stop = document.range(of: Self.end), start.upperBound <= stop.lowerBound else {
            Issue.record("Documentation/Architecture.md has no module-graph markers")
            return
        }
        let current = document[start.upperBound..<stop.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        if current == graph { return }
        if ProcessInfo.processInfo.environment["SWIFTCNI_UPDATE_MODULE_GRAPH"] == "1" {
            let updated = document.replacingCharacters(in: start.upperBound..<stop.lowerBound, with: "\n" + graph + "\n")
            try updated.write(to: url, atomically: true, encoding: .utf8)
            print("rewrote the module graph in \(url.path)")
        } else {
            Issue.record("the module graph in Documentation/Architecture.md is not Package.swift's: run scripts/update-module-graph.sh")
        }
    }

    @Test func manifestIsRead() throws {
        let manifest = try PackageManifest()
        #expect(manifest["Policy"]?.dependencies.contains("NetPrimitives") == true)
        #expect(manifest["swift-flanneld"]?.path == "Examples/swift-flanneld")
        #expect(manifest["swift-flanneld"]?.kind == .executable)
        #expect(manifest["CNetlink"]?.kind == .systemLibrary)
        #expect(manifest["PolicyTests"]?.kind == .test)
        // Package products are not project dependencies.
        #expect(manifest["Datastore"]?.dependencies == ["SystemSupport", "HTTPTransport", "JSONValues"])
        #expect(manifest["HTTPTransport"]?.dependencies == ["SystemSupport", "COpenSSL"])
        #expect(manifest.closure(of: "Routing").contains("CNetlink"))
    }
}
