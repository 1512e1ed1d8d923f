import AgentHTTP
import Logging
import Metrics
import PolicyAgent
import Synchronization

/// swift-canald's status endpoint (`--listen`): `/healthz` is ready once the policy agent has
/// programmed this node's policy the first time; `/metrics` carries `canal_policy_revision`
/// (the store revision enforced) and `canal_policy_updates_total` (updates applied), beside
/// swift-flanneld's own endpoint for the overlay.
final class CanalStatus: Sendable {
    let health: AgentHealth
    private let revision = Gauge(label: "canal_policy_revision")
    private let updates = Counter(label: "canal_policy_updates_total")
    private let applied = Mutex(0)

    /// `readinessFile`: where swift-canal's STATUS reads that the policy is programmed.
    init(readinessFile: String) throws {
        health = try AgentHealth(agent: "swift-canald", readinessFile: readinessFile, detail: "policy not yet programmed")
    }

    /// Records a policy agent status, then hands it on (to the status file writer).
    func statusHandler(then next: (@Sendable (PolicyAgentStatus) -> Void)?) -> @Sendable (PolicyAgentStatus) -> Void {
        { status in
            self.revision.record(status.revision)
            let delta = self.applied.withLock { applied in
                defer { applied = max(applied, status.appliedUpdates) }
                return max(0, status.appliedUpdates - applied)
            }
            if delta > 0 { self.updates.increment(by: delta) }
            self.health.update(ready: true, detail: "policy at revision \(status.revision)")
            next?(status)
        }
    }

    func server(listen: ListenAddress, metrics: PrometheusExposition, logger: Logger) -> StatusServer {
        StatusServer(listen: listen, health: health, metrics: metrics, logger: logger)
    }
}
