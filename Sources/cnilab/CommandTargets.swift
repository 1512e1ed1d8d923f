import ArgumentParser
import Lab

/// The lab and the one node a command acts on, named by its name (node-3) or its index (3):
/// `cnilab node remove`, `cnilab bgp node`.
struct NodeTarget: ParsableArguments {
    @OptionGroup var options: LabOptions
    @Argument(help: "The node: its name (node-3) or its index (3).") var node: String

    /// The opened lab and the node's index in it.
    func open() async throws -> (lab: Lab, index: Int) {
        let lab = try options.open()
        return (lab, try await lab.nodeIndex(node))
    }
}

/// The lab and node I, for `cnilab agent stop|start|kill I`.
struct AgentTarget: ParsableArguments {
    @OptionGroup var options: LabOptions
    @Argument var index: Int

    /// Runs `action` on the lab and node I, then prints `agent I <outcome>`.
    func run(_ outcome: String, _ action: (Lab, Int) async throws -> Void) async throws {
        try await action(try options.open(), index)
        print("agent \(index) \(outcome)")
    }
}

/// The lab and the link between nodes A and B, for `cnilab link block|unblock A B`.
struct LinkTarget: ParsableArguments {
    @OptionGroup var options: LabOptions
    @Argument var first: Int
    @Argument var second: Int
    @Option(help: "Only UDP to this port (e.g. 6784, weave's fast path).")
    var udpPort: UInt16?

    /// Runs `action` on the lab, then prints `link A B[ udp/PORT] <outcome>`.
    func run(_ outcome: String, _ action: (Lab, Int, Int, UInt16?) async throws -> Void) async throws {
        try await action(try options.open(), first, second, udpPort)
        print("link \(first) \(second)\(udpPort.map { " udp/\($0)" } ?? "") \(outcome)")
    }
}

/// `--label` values (`KEY=VALUE`, with `removals` also `KEY-`) read by `Lab.labelChanges`,
/// whose errors are usage errors here: `cnilab pod add`, `cnilab bgp node`.
enum LabelOption {
    static func parse(_ values: [String], removals: Bool) throws -> [String: String?] {
        let changes: [String: String?]
        do { changes = try Lab.labelChanges(values) } catch let error as LabError { throw ValidationError("--label: \(error.message)") }
        if !removals, let key = changes.first(where: { $0.value == nil })?.key {
            throw ValidationError("--label takes KEY=VALUE, not '\(key)-'")
        }
        return changes
    }
}
