import Foundation
import Testing

/// Known violations of the import rules, each with the change that ends it. An entry that no
/// longer matches fails `importRulesHold`, so stale ones cannot stay.
let knownViolations: [KnownViolation] = [
    // Empty: every rule holds. An entry here must say which change ends it.
]

@Suite("Import rules")
struct ImportRuleTests {
    @Test func importRulesHold() throws {
        let manifest = try PackageManifest()
        let rules = ImportRules(manifest: manifest)
        let imports = try SourceScanner.imports(of: rules.checkedTargets, root: manifest.root)
        #expect(imports.count > 100, "found only \(imports.count) imports under \(manifest.root.path)")
        let violations = rules.violations(in: imports)
        for violation in violations where !knownViolations.contains(where: { $0.matches(violation) }) {
            Issue.record("\(violation)")
        }
        for known in knownViolations where !violations.contains(where: known.matches) {
            Issue.record("allow-list entry no longer needed, remove it: \(known.importer) → \(known.module) (\(known.rule.rawValue))")
        }
    }

    // The checker itself, on made-up imports: each rule catches what it must.
    @Test func eachRuleCatchesItsCase() throws {
        let rules = ImportRules(manifest: try PackageManifest())
        func rulesBroken(_ importer: String, _ line: String) -> Set<ImportRules.Rule> {
            Set(rules.violations(in: SourceScanner.imports(in: line, importer: importer, file: "x.swift"))
                .filter { $0.rule != .pureLinkage }.map(\.rule))
        }
        #expect(rulesBroken("NetPrimitives", "import CNISpec") == [.primitivesStandAlone])
        #expect(rulesBroken("NetPrimitives", "import Foundation").isEmpty)
        #expect(rulesBroken("Policy", "import Nftables") == [.pureLayers])
        #expect(rulesBroken("IPAM", "internal import CNetlink") == [.pureLayers, .cImportsByWrapper])
        #expect(rulesBroken("Routing", "import Lab") == [.librariesBelowTools])
        #expect(rulesBroken("Routing", "@testable import swift_flanneld") == [.librariesBelowTools])
        #expect(rulesBroken("cnilab", "import Lab").isEmpty)
        #expect(rulesBroken("swift-calico", "private import CNftnl") == [.examplesWithoutC, .cImportsByWrapper])
        #expect(rulesBroken("Netlink", "import CNetlink") == [.cImportsHidden])
        #expect(rulesBroken("Netlink", "internal import CNetlink").isEmpty)
        #expect(rulesBroken("Nftables", "public import CNftnl") == [.cImportsHidden])
        #expect(rulesBroken("Netlink", "internal import CNftnl") == [.cImportsByWrapper])
        #expect(rulesBroken("KubernetesCore", "import NIOCore") == [.leanPluginModules])
        #expect(rulesBroken("HTTPTransport", "import Yams") == [.leanPluginModules])
        #expect(rulesBroken("KubernetesCore", "import Kubernetes") == [.leanPluginModules])
        #expect(rulesBroken("KubernetesCore", "import HTTPTransport").isEmpty)
    }

    @Test func scannerReadsDeclarationsOnly() {
        let text = """
            @preconcurrency internal import NIOCore
            import struct NetPrimitives.IPv4Address
            // import Lab
            /*
            import Lab
            */
            let snippet = \"\"\"
                import Lab
                \"\"\"
            #if canImport(Glibc)
            import Glibc
            #endif
            """
        let found = SourceScanner.imports(in: text, importer: "Routing", file: "x.swift")
        #expect(found.map(\.module) == ["NIOCore", "NetPrimitives", "Glibc"])
        #expect(found.first?.access == "internal" && found.first?.attributes == ["@preconcurrency"])
        #expect(found.first?.isHidden == true && found.last?.isHidden == false)
    }
}
