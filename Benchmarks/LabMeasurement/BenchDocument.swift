/// What `cnilab bench … --json` prints: a scenario and its metrics, each ours against the
/// reference's with the speedup (Documentation/cnilab.md).
public struct BenchDocument: Encodable, Sendable {
    public struct Metric: Encodable, Sendable, Equatable {
        public var name: String
        public var ours: Double
        public var reference: Double
        public var speedup: Double

        public init(name: String, ours: Double, reference: Double, speedup: Double) {
            self.name = name
            self.ours = ours
            self.reference = reference
            self.speedup = speedup
        }

        /// A time of ours against the reference's (lower is better): speedup = reference / ours.
        public static func time(_ name: String, ours: Double, reference: Double) -> Metric {
            Metric(name: name, ours: ours, reference: reference, speedup: ours == 0 ? 0 : reference / ours)
        }
    }

    public var scenario: String
    public var metrics: [Metric]

    public init(scenario: String, metrics: [Metric]) {
        self.scenario = scenario
        self.metrics = metrics
    }

    /// `veth pairs created` → `veth_pairs_created_ms`, `/32 routes` → `32_routes_ms`.
    public static func metricName(_ text: String) -> String {
        let words = text.lowercased().split { !($0.isLetter || $0.isNumber) }
        return words.joined(separator: "_") + "_ms"
    }

    /// A duration in milliseconds.
    public static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}

/// One benchmark run as `cnilab bench` shows it: the text for people, the document for `--json`.
public struct BenchOutput: Sendable {
    public var text: String
    public var document: BenchDocument

    public init(text: String, document: BenchDocument) {
        self.text = text
        self.document = document
    }
}
