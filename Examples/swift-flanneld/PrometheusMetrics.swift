import CoreMetrics
import NIOConcurrencyHelpers

/// A small swift-metrics backend that keeps the latest values and renders them in the
/// Prometheus text format for `/metrics`. Counters are `counter`s, recorders `gauge`s,
/// timers the sum and count of their durations in seconds.
final class PrometheusMetrics: MetricsFactory {
    private let storage = NIOLockedValueBox([String: Entry]())

    struct Entry {
        var type: String
        var value: Double
        var count: Int64 = 0
    }

    final class Handler: CounterHandler, RecorderHandler, TimerHandler, FloatingPointCounterHandler {
        let key: String
        let owner: PrometheusMetrics
        init(key: String, owner: PrometheusMetrics) {
            self.key = key
            self.owner = owner
        }
        func increment(by amount: Int64) { owner.update(key) { $0.value += Double(amount) } }
        func increment(by amount: Double) { owner.update(key) { $0.value += amount } }
        func reset() { owner.update(key) { $0.value = 0 } }
        func record(_ value: Int64) { owner.update(key) { $0.value = Double(value) } }
        func record(_ value: Double) { owner.update(key) { $0.value = value } }
        func recordNanoseconds(_ duration: Int64) {
            owner.update(key) {
                $0.value += Double(duration) / 1e9
                $0.count += 1
            }
        }
    }

    func update(_ key: String, _ body: (inout Entry) -> Void) {
        storage.withLockedValue { entries in
            if var entry = entries[key] {
                body(&entry)
                entries[key] = entry
            }
        }
    }

    private func handler(_ label: String, _ dimensions: [(String, String)], type: String) -> Handler {
        let name = label.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" }
        let labels = dimensions.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
        let key = String(name) + (labels.isEmpty ? "" : "{\(labels)}")
        storage.withLockedValue { entries in
            if entries[key] == nil { entries[key] = Entry(type: type, value: 0) }
        }
        return Handler(key: key, owner: self)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        handler(label, dimensions, type: "counter")
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        handler(label, dimensions, type: "counter")
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        handler(label, dimensions, type: "gauge")
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        handler(label, dimensions, type: "summary")
    }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    /// The Prometheus text exposition of every metric.
    func render() -> String {
        let entries = storage.withLockedValue { $0 }
        var typed = Set<String>()
        var text = ""
        for (key, entry) in entries.sorted(by: { $0.key < $1.key }) {
            let name = String(key.prefix { $0 != "{" })
            let labels = key.dropFirst(name.count)
            if typed.insert(name).inserted { text += "# TYPE \(name) \(entry.type)\n" }
            if entry.type == "summary" {
                text += "\(name)_sum\(labels) \(entry.value)\n\(name)_count\(labels) \(entry.count)\n"
            } else {
                text += "\(key) \(entry.value)\n"
            }
        }
        return text
    }
}
