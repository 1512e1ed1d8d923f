import Foundation

/// What a ``PolicyAgent`` has enforced: every store change up to `revision` is in the kernel.
/// A tool that wrote a change at revision R waits until each node's status reaches R.
public struct PolicyAgentStatus: Codable, Hashable, Sendable {
    public var node: String
    /// The store revision the node's nftables table reflects.
    public var revision: Int64
    /// How many times the enforcer's program changed.
    public var appliedUpdates: Int

    public init(node: String, revision: Int64, appliedUpdates: Int) {
        self.node = node
        self.revision = revision
        self.appliedUpdates = appliedUpdates
    }

    /// Writes the status as JSON to `path` atomically (a temporary file renamed over it), so a
    /// reader never sees half a file. Failures are ignored: the status is advisory.
    public func write(toFile path: String) {
        guard let data = try? JSONEncoder().encode(self) else { return }
        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// A status handler writing to `path`, or `nil` when there is no path (a command-line
    /// option's value).
    public static func fileWriter(_ path: String?) -> (@Sendable (PolicyAgentStatus) -> Void)? {
        guard let path else { return nil }
        return { status in status.write(toFile: path) }
    }

    /// The status in `path`; nil while there is none. The file is written atomically, so one
    /// that does not decode is corrupt: an error naming it.
    public static func read(fromFile path: String) throws(PolicyAgentError) -> PolicyAgentStatus? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            return try JSONDecoder().decode(PolicyAgentStatus.self, from: data)
        } catch {
            throw PolicyAgentError(.malformedRecord, "the policy agent status \(path) does not decode", key: path, underlying: "\(error)")
        }
    }
}
