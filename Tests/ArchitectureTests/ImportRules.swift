import Foundation

/// The layering rules of the project, checked on every `import` of Sources and Examples
/// (Documentation/Architecture.md, "Layers").
struct ImportRules {
    enum Rule: String, CaseIterable {
        case primitivesStandAlone = "NetPrimitives imports nothing of the project"
        case pureLayers = "CNISpec, IPAM, Datastore, BGP, Mesh and Policy import neither Netlink/Nftables nor a C module (but the system library they wrap)"
        case pureLinkage = "CNISpec, IPAM, Datastore, BGP, Mesh and Policy do not depend on libnl or libnftnl, even indirectly"
        case librariesBelowTools = "no library imports the Lab, cnilab or an example (only the lab's own libraries build on the Lab)"
        case examplesWithoutC = "no example imports a C module"
        case cImportsHidden = "a C module is imported internal, private or fileprivate"
        case cImportsByWrapper = "a C module is imported only by the library that wraps it"
        case leanPluginModules = "HTTPTransport and KubernetesCore (a plugin's Kubernetes reads at ADD) import no NIO, Yams, logging or Kubernetes library"
    }

    struct Violation: Hashable, CustomStringConvertible {
        var rule: Rule
        var importer: String
        var module: String
        /// Where (file:line), or the dependency path for linkage.
        var location: String
        var description: String { "\(location): \(importer) → \(module): breaks \"\(rule.rawValue)\"" }
    }

    /// Modules that must build and test anywhere, without root or a C library.
    static let pureModules: Set<String> = ["CNISpec", "IPAMCore", "IPAM", "HTTPTransport", "Datastore", "KubernetesCore", "BGP", "Mesh", "Policy"]
    /// The netlink family: what a pure module must not import.
    static let kernelModules: Set<String> = ["Netlink", "Nftables"]
    /// Targets linking libnl or libnftnl.
    static let kernelLinkage: Set<String> = ["CNetlink", "CNftnl", "Netlink", "Nftables"]
    /// Each C module and the libraries that wrap it.
    static let wrappers: [String: Set<String>] = [
        "CNetlink": ["Netlink"],
        "CNftnl": ["Nftables"],
        // OpenSSL for https:// endpoints, wrapped by the blocking transport the etcd client and a
        // plugin's Kubernetes reads share: a system library present on every machine, so the
        // Datastore stays buildable anywhere; it touches no kernel interface.
        "COpenSSL": ["HTTPTransport"],
        // The system-call shim under the two bottom libraries that need it, and Weave, which
        // wraps its TAP device (TUNSETIFF) and batched datagram calls (sendmmsg/recvmmsg) for
        // the sleeve. If a single system layer takes it over, name that module here alone.
        "CLinuxShim": ["ChildProcess", "Namespaces", "Weave"],
    ]
    /// What a plugin links to read the API at ADD, kept free of the agents' stack.
    static let leanPluginModules: Set<String> = ["HTTPTransport", "KubernetesCore"]
    /// What they must not import (a name, or a prefix ending in `*`).
    static let heavyModules = ["NIO*", "_NIO*", "Yams", "Logging", "Kubernetes", "KubernetesTestServer"]
    /// The lab and the command-line tools over it: no SDK library may import them.
    static let tools: Set<String> = ["Lab", "LabProfiles", "LabMeasurement", "NetpolConformanceLab", "cnilab", "cnilab_pod_server", "cnilab_apiserver"]
    /// The lab's own libraries: they build on the Lab (profiles, measurement, the netpol
    /// runner), and nothing below them imports them.
    static let labLayer: Set<String> = ["Lab", "LabProfiles", "LabMeasurement", "NetpolConformanceLab"]

    let manifest: PackageManifest

    var checkedTargets: [PackageManifest.Target] {
        manifest.targets.filter { ($0.path.hasPrefix("Sources/") || $0.path.hasPrefix("Examples/")) && $0.kind != .systemLibrary }
    }

    var cModules: Set<String> {
        Set(manifest.targets.filter { target in
            target.kind == .systemLibrary
                || FileManager.default.fileExists(atPath: manifest.root.appendingPathComponent(target.path + "/include").path)
        }.map(\.moduleName))
    }

    func violations(in imports: [SourceImport]) -> [Violation] {
        let projectModules = Set(manifest.targets.map(\.moduleName))
        let examples = Set(manifest.targets.filter { $0.path.hasPrefix("Examples/") }.map(\.moduleName))
        let cModules = self.cModules
        var result: [Violation] = []
        for item in imports {
            guard let target = manifest[item.importer] else { continue }
            func flag(_ rule: Rule) {
                result.append(Violation(rule: rule, importer: item.importer, module: item.module, location: "\(item.file):\(item.line)"))
            }
            let isLibrary = target.kind == .library && target.path.hasPrefix("Sources/")
            let isExample = target.path.hasPrefix("Examples/")
            if item.importer == "NetPrimitives", projectModules.contains(item.module) { flag(.primitivesStandAlone) }
            if Self.pureModules.contains(item.importer),
                Self.kernelModules.contains(item.module)
                    || (cModules.contains(item.module) && !(Self.wrappers[item.module] ?? []).contains(item.importer))
            {
                flag(.pureLayers)
            }
            if isLibrary, item.module != target.moduleName, !Self.labLayer.contains(target.moduleName),
                Self.tools.contains(item.module) || examples.contains(item.module)
            {
                flag(.librariesBelowTools)
            }
            if isExample, cModules.contains(item.module) { flag(.examplesWithoutC) }
            if Self.leanPluginModules.contains(item.importer),
                Self.heavyModules.contains(where: { $0.hasSuffix("*") ? item.module.hasPrefix($0.dropLast()) : item.module == $0 })
            {
                flag(.leanPluginModules)
            }
            if cModules.contains(item.module) {
                if !item.isHidden { flag(.cImportsHidden) }
                if !(Self.wrappers[item.module] ?? []).contains(item.importer) { flag(.cImportsByWrapper) }
            }
        }
        for module in Self.pureModules {
            for linked in manifest.closure(of: module).intersection(Self.kernelLinkage).sorted() {
                result.append(Violation(rule: .pureLinkage, importer: module, module: linked, location: "Package.swift"))
            }
        }
        return result
    }
}

/// A known violation, tolerated until the change that removes it is merged. Every entry says
/// why and what ends it; an entry that no longer matches a violation fails the test, so the
/// list only shrinks.
struct KnownViolation: Hashable {
    var rule: ImportRules.Rule
    var importer: String
    var module: String
    var reason: String

    func matches(_ violation: ImportRules.Violation) -> Bool {
        violation.rule == rule && violation.importer == importer && violation.module == module
    }
}
