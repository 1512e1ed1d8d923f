import AgentHTTP
import BGP
import Foundation
import Logging
import Metrics
import Synchronization

/// The agent's metrics, refreshed from a ``StatusReport`` before every scrape (swift-metrics,
/// served by AgentHTTP's Prometheus exposition). Names kept stable:
/// `swiftcni_calico_bgp_sessions{state}`, `swiftcni_calico_bgp_prefixes{peer,kind}`,
/// `swiftcni_calico_blocks`, `swiftcni_calico_installed_routes`,
/// `swiftcni_calico_route_request_failures_total`.
final class CalicoMetrics: Sendable {
    static let states = ["Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"]
    static let prefixKinds = ["received", "accepted", "advertised", "stale"]

    private struct State {
        var peers: Set<String> = []
        var failures = 0
    }

    private let state = Mutex(State())
    private let factory: any MetricsFactory
    private let blocks: Gauge
    private let installedRoutes: Gauge
    private let routeFailures: Counter

    /// Metrics made by `factory` (swift-metrics' bootstrapped one by default).
    init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        blocks = Gauge(label: "swiftcni_calico_blocks", factory: factory)
        installedRoutes = Gauge(label: "swiftcni_calico_installed_routes", factory: factory)
        routeFailures = Counter(label: "swiftcni_calico_route_request_failures_total", factory: factory)
    }

    func update(from report: StatusReport) {
        for state in Self.states {
            Gauge(label: "swiftcni_calico_bgp_sessions", dimensions: [("state", state)], factory: factory)
                .record(report.peers.filter { $0.state == state }.count)
        }
        for peer in report.peers {
            for (kind, value) in zip(Self.prefixKinds, [peer.received, peer.accepted, peer.advertised, peer.stale]) {
                prefixGauge(peer.address, kind).record(value)
            }
        }
        blocks.record(report.blocks.count)
        installedRoutes.record(report.installedRoutes)
        let (gone, newFailures) = state.withLock { state in
            let current = Set(report.peers.map(\.address))
            let gone = state.peers.subtracting(current)
            state.peers = current
            let delta = max(0, report.failedRouteRequests - state.failures)
            state.failures = max(state.failures, report.failedRouteRequests)
            return (gone, delta)
        }
        // A peer that was removed leaves the exposition.
        for address in gone {
            for kind in Self.prefixKinds { prefixGauge(address, kind).destroy() }
        }
        if newFailures > 0 { routeFailures.increment(by: newFailures) }
    }

    private func prefixGauge(_ peer: String, _ kind: String) -> Gauge {
        Gauge(label: "swiftcni_calico_bgp_prefixes", dimensions: [("peer", peer), ("kind", kind)], factory: factory)
    }
}

extension StatusServer {
    /// `/healthz`, `/metrics` and `/status` (JSON, read by `swift-calico-node status`) on TCP
    /// `--listen` and on the unix socket `<state-dir>/status.sock`.
    static func calicoNode(
        listen: ListenAddress?, socketPath: String, health: AgentHealth, metrics: PrometheusExposition, logger: Logger,
        report: @escaping @Sendable () async -> StatusReport
    ) -> StatusServer {
        try? FileManager.default.createDirectory(
            atPath: (socketPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let calicoMetrics = CalicoMetrics()
        return StatusServer(
            listen: listen, unixSocketPath: socketPath, health: health, metrics: metrics,
            routes: [
                "/status": {
                    let data = (try? JSONEncoder().encode(await report())) ?? Data()
                    return .json(String(decoding: data, as: UTF8.self))
                }
            ],
            beforeScrape: { calicoMetrics.update(from: await report()) }, logger: logger)
    }
}
