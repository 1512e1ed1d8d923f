import Datastore
import Foundation
import PolicyAgent

/// Knowing when a policy change is enforced: the agents of profiles that enforce policy
/// (``LabProfile/enforcesPolicy``) keep the store revision their nftables table reflects in `<state>/nodes/I/policy-status.json`
/// (``PolicyAgent/PolicyAgentStatus``); the lab writes a marker key and waits until every
/// running agent has reached the marker's revision.
extension Lab {
    /// The key the lab writes to take a revision every earlier change is ordered before.
    static let policySyncMarkerKey = KeyLayout.root + "/sync/cnilab"

    nonisolated func policyStatusPath(node index: Int) -> String { nodeDirectory(index) + "/policy-status.json" }

    /// Whether the lab's profile enforces network policy (``LabProfile/enforcesPolicy``).
    public var enforcesPolicy: Bool { profile.enforcesPolicy }

    /// Waits until every running agent enforces every store change made before the call
    /// (policies, pods, labels); returns how long that took. Throws `notAvailable` for a
    /// profile without policy agents and `timedOut`, naming the nodes behind, after `timeout`.
    @discardableResult
    public func waitForPolicyEnforcement(timeout: Duration = .seconds(10)) async throws -> Duration {
        guard enforcesPolicy else { throw LabError(.notAvailable, "the \(state.plugin.kind) profile enforces no network policy") }
        let clock = ContinuousClock()
        let start = clock.now
        // Through the API: the store first has to reflect it (swift-kube-sync).
        if usesKubernetes { try await waitForKubeSync(timeout: timeout) }
        let target = try await storePutReturningRevision(Self.policySyncMarkerKey, "\(Date().timeIntervalSince1970)")
        let running = nodes().filter { $0.agent == .running }.map(\.index)
        while true {
            let behind = try running.filter { (try PolicyAgentStatus.read(fromFile: policyStatusPath(node: $0))?.revision ?? 0) < target }
            if behind.isEmpty { return clock.now - start }
            if clock.now - start > timeout {
                throw LabError(
                    .timedOut, "the policy agents of node(s) \(behind.map(String.init).joined(separator: ", ")) did not reach store revision \(target) within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
