import CoreMetrics
import Prometheus

/// The agent's metrics in the Prometheus text format: a swift-prometheus registry, and the
/// swift-metrics factory that feeds it. An agent's `main` bootstraps swift-metrics with
/// ``factory`` once; every `Counter`, `Gauge`, `Recorder` and `Timer` created afterwards is
/// then served on `GET /metrics` (timers as histograms in seconds).
///
/// ```swift
/// let exposition = PrometheusExposition()
/// MetricsSystem.bootstrap(exposition.factory)
/// Counter(label: "flannel_reconciles_total").increment()
/// print(exposition.render())   // # TYPE flannel_reconciles_total counter …
/// ```
public struct PrometheusExposition: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        // Timers are durations: seconds, from 1 ms to 10 s.
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100),
            .milliseconds(500), .seconds(1), .seconds(5), .seconds(10),
        ]
        self.factory = factory
    }

    /// The text exposition of every registered metric.
    public func render() -> String { registry.emitToString() }

    /// The answer to `GET /metrics`.
    public var response: StatusServer.Response {
        StatusServer.Response(body: render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}
