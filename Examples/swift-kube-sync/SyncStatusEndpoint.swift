import AgentHTTP
import KubeSync
import Logging
import Metrics

/// swift-kube-sync's status endpoint (`--listen`): `/healthz` is ready once every informer has
/// listed and the first round was written; `/metrics` carries `kube_sync_operations_total`
/// (store operations applied), `kube_sync_rounds_total` and `kube_sync_problems` (keys the last
/// round left alone).
final class SyncStatusEndpoint: Sendable {
    let health = AgentHealth(detail: "informers not yet synced")
    private let operations = Gauge(label: "kube_sync_operations_total")
    private let rounds = Gauge(label: "kube_sync_rounds_total")
    private let problems = Gauge(label: "kube_sync_problems")

    func record(_ status: KubeSyncStatus) {
        operations.record(status.appliedOperations)
        rounds.record(status.rounds)
        problems.record(status.problems.count)
        let versions = status.resourceVersions.keys.sorted().map { "\($0)@\(status.resourceVersions[$0]!)" }.joined(separator: " ")
        health.update(ready: status.synced, detail: "mirrored \(versions)")
    }

    func server(listen: ListenAddress, metrics: PrometheusExposition, logger: Logger) -> StatusServer {
        StatusServer(listen: listen, health: health, metrics: metrics, logger: logger)
    }
}
