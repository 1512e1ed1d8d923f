#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces
import Netlink
import Nftables
import NetPrimitives
import Policy
import PolicyEnforcement

/// The policy enforcer benchmark (the future `cnilab bench policy`): in a throwaway network
/// namespace, the time to compile and apply the full rule set for a synthetic cluster, compared
/// in the same run with `nft -f` loading the same rules as text, and the time of one pod label
/// change through the incremental path.
public struct PolicyEnforcerBenchmark: Sendable {
    public var endpoints = 1000
    public var policies = 500
    public var rounds = 5
    public var labelChanges = 41

    public init() {}

    /// Times in milliseconds, one value per round or change.
    public struct Report: CustomStringConvertible, Sendable {
        public var endpoints = 0, policies = 0, chains = 0, rules = 0, sets = 0, elements = 0, textBytes = 0
        public var compileProgram: [Double] = []
        public var lowering: [Double] = []
        public var libraryApply: [Double] = []
        public var nftApply: [Double] = []
        public var peerLabelChange: [Double] = []
        public var peerLabelChangeKind = ""
        public var selectedLabelChange: [Double] = []
        public var selectedLabelChangeKind = ""
        public var policyChange: [Double] = []
        public var policyChangeKind = ""

        public static func median(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.sorted()[values.count / 2] }
        static func format(_ value: Double) -> String {
            let hundredths = Int((value * 100).rounded())
            let fraction = hundredths % 100
            return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
        }

        public var description: String {
            var lines = ["endpoints \(endpoints), policies \(policies): \(chains) chains, \(rules) rules, \(sets) sets/maps, "
                + "\(elements) elements, nft text \(textBytes) bytes"]
            for round in libraryApply.indices {
                let library = compileProgram[round] + lowering[round] + libraryApply[round]
                lines.append("round \(round + 1): compile \(Self.format(compileProgram[round])) ms + lower \(Self.format(lowering[round])) ms"
                    + " + apply \(Self.format(libraryApply[round])) ms = \(Self.format(library)) ms; nft -f \(Self.format(nftApply[round])) ms;"
                    + " ratio (compile+apply)/nft \(Self.format(library / nftApply[round]))")
            }
            let totals = libraryApply.indices.map { compileProgram[$0] + lowering[$0] + libraryApply[$0] }
            let (total, nft, apply) = (Self.median(totals), Self.median(nftApply), Self.median(libraryApply))
            lines.append("median: compile+lower+apply \(Self.format(total)) ms (apply alone \(Self.format(apply)) ms), nft -f \(Self.format(nft)) ms;"
                + " ratio \(Self.format(total / nft)) (apply alone \(Self.format(apply / nft)))")
            let sortedPeer = peerLabelChange.sorted(), sortedSelected = selectedLabelChange.sorted()
            lines.append("label change of a peer pod (\(peerLabelChangeKind)): median \(Self.format(Self.median(sortedPeer))) ms,"
                + " max \(Self.format(sortedPeer.last ?? 0)) ms over \(sortedPeer.count)")
            lines.append("label change of a selected pod (\(selectedLabelChangeKind)): median \(Self.format(Self.median(sortedSelected))) ms,"
                + " max \(Self.format(sortedSelected.last ?? 0)) ms over \(sortedSelected.count)")
            let sortedPolicy = policyChange.sorted()
            lines.append("one policy removed/added again (\(policyChangeKind)): median \(Self.format(Self.median(sortedPolicy))) ms,"
                + " max \(Self.format(sortedPolicy.last ?? 0)) ms over \(sortedPolicy.count)")
            return lines.joined(separator: "\n")
        }
    }

    static func milliseconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    /// Runs everything inside a namespace it creates and deletes.
    public func run() async throws -> Report {
        let synthetic = try SyntheticCluster(endpoints: endpoints, policies: policies)
        let name = "swcni-bench-penf-\(getpid())"
        let namespace = try NetworkNamespace.create(name: name)
        defer { try? NetworkNamespace.delete(name: name) }
        let handle = try await NftablesHandle.open(in: namespace)
        let compiler = NftablesPolicyCompiler()
        var report = Report()
        report.endpoints = endpoints
        report.policies = policies
        let nft = ChildProcess.find("nft", in: ["/usr/sbin", "/sbin", "/usr/bin"]) ?? "/usr/sbin/nft"
        let scriptPath = "/tmp/\(name).nft"
        defer { unlink(scriptPath) }
        var removal = NftablesTransaction()
        removal.deleteIfPresent(compiler.table)

        for _ in 0..<rounds {
            try handle.apply(removal)
            var program: PolicyProgram?
            report.compileProgram.append(Self.milliseconds {
                program = PolicyProgram(compiling: synthetic.policies, cluster: synthetic.cluster, node: "node0")
            })
            var contents: NftablesTableContents?
            try report.lowering.append(Self.milliseconds { contents = try compiler.contents(for: program!) })
            try report.libraryApply.append(Self.milliseconds {
                var transaction = NftablesTransaction()
                transaction.replace(with: contents!)
                try handle.apply(transaction)
            })
            // The same rules as text, loaded by nft into the same (emptied) namespace.
            try handle.apply(removal)
            let text = contents!.nftText
            report.textBytes = text.utf8.count
            try Self.write(text, to: scriptPath)
            var status = ""
            try report.nftApply.append(Self.milliseconds {
                let output = try namespace.runProcess(nft, arguments: ["-f", scriptPath], timeoutMilliseconds: 600_000)
                if !output.status.isSuccess { status = String(decoding: output.standardError, as: UTF8.self) }
            })
            guard status.isEmpty else { throw BenchmarkError(message: "nft -f failed: \(status.prefix(2000))") }
            let loaded = try handle.contents(of: compiler.table)
            guard loaded.isEquivalent(to: contents!) else {
                throw BenchmarkError(message: "nft -f loaded a different rule set: \(Self.difference(loaded, contents!))")
            }
            report.chains = contents!.chains.count
            report.rules = contents!.rules.count
            report.sets = contents!.sets.count
            report.elements = contents!.elements.values.reduce(0) { $0 + $1.count }
        }

        // Incremental path: a live enforcer, one label change at a time, alternating.
        let enforcer = PolicyEnforcer(handle: handle, policies: synthetic.policies, cluster: synthetic.cluster, node: "node0")
        try enforcer.reconcile()
        for (id, key, values, isPeer) in [
            (EndpointID(namespace: "ns13", name: "pod13"), "tier", ["back", "front"], true),
            (EndpointID(namespace: "ns7", name: "pod7"), "app", ["app1", "app7"], false),
        ] {
            var endpoint = enforcer.cluster[id]!
            for change in 0..<labelChanges {
                endpoint.labels[key] = values[change % 2]
                var kind = ""
                let time = try Self.milliseconds { kind = try enforcer.upsert(endpoint).kind.rawValue }
                if isPeer {
                    report.peerLabelChange.append(time)
                    report.peerLabelChangeKind = kind
                } else {
                    report.selectedLabelChange.append(time)
                    report.selectedLabelChangeKind = kind
                }
            }
        }
        // One policy change (removed, then back): recompiled and rewritten in place.
        var fewer = synthetic.policies
        fewer.networkPolicies.removeLast()
        for change in 0..<10 {
            var kind = ""
            let time = try Self.milliseconds {
                kind = try enforcer.update(policies: change % 2 == 0 ? fewer : synthetic.policies).kind.rawValue
            }
            report.policyChange.append(time)
            report.policyChangeKind = kind
        }
        guard try enforcer.desiredContents().isEquivalent(to: handle.contents(of: compiler.table)) else {
            throw BenchmarkError(message: "the table differs from the program after the label changes")
        }
        return report
    }

    /// The first difference, for the error message.
    static func difference(_ loaded: NftablesTableContents, _ expected: NftablesTableContents) -> String {
        if Set(loaded.chains) != Set(expected.chains) { return "chains differ" }
        if Set(loaded.sets) != Set(expected.sets) { return "sets differ: \(Set(loaded.sets).symmetricDifference(expected.sets))" }
        for set in expected.sets where Set(loaded.elements[set.name] ?? []) != Set(expected.elements[set.name] ?? []) {
            return "elements of \(set.name): \((loaded.elements[set.name] ?? []).prefix(5)) vs \((expected.elements[set.name] ?? []).prefix(5))"
        }
        for chain in expected.chains {
            let mine = loaded.rules.filter { $0.chain == chain.name }, theirs = expected.rules.filter { $0.chain == chain.name }
            for (left, right) in zip(mine, theirs) where !left.isEquivalent(to: right) {
                return "chain \(chain.name): loaded \(left) (\(left.matches)) vs \(right) (\(right.matches))"
            }
            if mine.count != theirs.count { return "chain \(chain.name): \(mine.count) vs \(theirs.count) rules" }
        }
        return "?"
    }

    static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BenchmarkError(message: "cannot write \(path)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { throw BenchmarkError(message: "cannot write \(path)") }
            written += count
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
