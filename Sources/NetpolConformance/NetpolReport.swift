import Foundation

/// What a runner (NetpolConformanceLab's `NetpolRunner`) found, case by case (`cnilab netpol --json` prints it).
public struct NetpolReport: Codable, Sendable {
    /// The lab profile (`calico`, `canal`).
    public var plugin: String
    public var cases: [NetpolCaseResult]
    public var seconds: Double

    public init(plugin: String, cases: [NetpolCaseResult], seconds: Double) {
        self.plugin = plugin
        self.cases = cases
        self.seconds = seconds
    }

    public var passed: Int { cases.filter(\.passed).count }
    public var failed: Int { cases.count - passed }
    /// Probes made (pairs × protocols, retries not counted).
    public var probes: Int { cases.reduce(0) { $0 + $1.probes.reduce(0) { $0 + $1.probed } } }

    /// One line per case, then the failures' tables and a summary line.
    public var text: String {
        var lines = cases.map(\.line)
        for failure in cases where !failure.passed {
            lines.append("")
            lines.append("\(failure.id): \(failure.upstreamTitle)")
            if let error = failure.error { lines.append("  error: \(error)") }
            for probe in failure.probes where !probe.mismatches.isEmpty {
                for mismatch in probe.mismatches {
                    lines.append("  step \(probe.step), port \(probe.port)/\(mismatch.protocol.rawValue): \(mismatch.from) → \(mismatch.to) "
                        + (mismatch.expected ? "should connect but was blocked" : "should be blocked but connected"))
                }
                for table in probe.tables {
                    lines.append("  expected (\(table.protocol.rawValue)):\n" + indent(table.expected))
                    lines.append("  observed (\(table.protocol.rawValue)):\n" + indent(table.observed))
                }
            }
        }
        lines.append("")
        lines.append("\(plugin): \(passed)/\(cases.count) cases passed, \(probes) probes, \(String(format: "%.1f", seconds)) s")
        return lines.joined(separator: "\n")
    }

    private func indent(_ text: String) -> String { text.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
}

/// One case's outcome.
public struct NetpolCaseResult: Codable, Sendable {
    public var id: String
    public var upstreamTitle: String
    public var probes: [NetpolProbeOutcome] = []
    /// A step that could not be carried out (the case fails).
    public var error: String?
    public var seconds: Double = 0

    public init(id: String, upstreamTitle: String) {
        self.id = id
        self.upstreamTitle = upstreamTitle
    }

    public var passed: Bool { error == nil && probes.allSatisfy(\.mismatches.isEmpty) && !probes.isEmpty }

    var line: String {
        let protocols = Set(probes.flatMap(\.protocols)).map(\.rawValue).sorted().joined(separator: "+")
        return "\(passed ? "PASS" : "FAIL")  \(id)  (\(probes.count) probe step(s), \(protocols), \(String(format: "%.2f", seconds)) s)"
    }
}

/// One probe step's outcome.
public struct NetpolProbeOutcome: Codable, Sendable {
    public var step: Int
    public var port: Int
    public var protocols: [NetpolProtocol]
    /// How long the agents took to enforce the steps before this probe.
    public var enforcementSeconds: Double
    public var probed = 0
    /// Allowed flows probed a second time after not connecting the first time.
    public var retried = 0
    public var mismatches: [NetpolMismatch] = []
    /// Expected and observed tables, kept for the protocols that mismatched.
    public var tables: [NetpolTables] = []

    public init(step: Int, port: Int, protocols: [NetpolProtocol], enforcementSeconds: Double) {
        self.step = step
        self.port = port
        self.protocols = protocols
        self.enforcementSeconds = enforcementSeconds
    }
}

public struct NetpolMismatch: Codable, Hashable, Sendable {
    public var from: String
    public var to: String
    public var `protocol`: NetpolProtocol
    /// What the truth table says: `true` = should connect.
    public var expected: Bool

    public init(from: String, to: String, protocol: NetpolProtocol, expected: Bool) {
        self.from = from
        self.to = to
        self.protocol = `protocol`
        self.expected = expected
    }
}

public struct NetpolTables: Codable, Hashable, Sendable {
    public var `protocol`: NetpolProtocol
    public var expected: String
    public var observed: String

    public init(protocol: NetpolProtocol, expected: String, observed: String) {
        self.protocol = `protocol`
        self.expected = expected
        self.observed = observed
    }
}
