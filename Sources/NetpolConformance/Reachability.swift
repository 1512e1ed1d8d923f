/// The expected connectivity between every ordered pair of distinct pods of ``NetpolModel``:
/// upstream's `Reachability` truth table, with the same editing operations. Traffic from a
/// pod to itself never leaves the pod (it goes over the pod's loopback), so, as upstream does,
/// self pairs are not part of the table.
public struct Reachability: Hashable, Sendable {
    /// `expected[from][to]`.
    private var expected: [NetpolPod: [NetpolPod: Bool]]

    /// Every pair `connected` (upstream's `NewReachability(pods, connected)`).
    public init(allConnected connected: Bool) {
        var table: [NetpolPod: [NetpolPod: Bool]] = [:]
        for from in NetpolModel.pods {
            for to in NetpolModel.pods where to != from { table[from, default: [:]][to] = connected }
        }
        expected = table
    }

    /// Whether `from` → `to` is expected to connect (self pairs: always `true`).
    public subscript(from: NetpolPod, to: NetpolPod) -> Bool {
        from == to ? true : expected[from]?[to] ?? false
    }

    /// Upstream's `Expect(from, to, connected)`.
    public mutating func expect(from: NetpolPod, to: NetpolPod, _ connected: Bool) {
        guard from != to else { return }
        expected[from, default: [:]][to] = connected
    }

    /// Upstream's `ExpectAllIngress(pod, connected)`: every pair into `pod`.
    public mutating func expectAllIngress(_ pod: NetpolPod, _ connected: Bool) {
        for from in NetpolModel.pods { expect(from: from, to: pod, connected) }
    }

    /// Upstream's `ExpectAllEgress(pod, connected)`: every pair out of `pod`.
    public mutating func expectAllEgress(_ pod: NetpolPod, _ connected: Bool) {
        for to in NetpolModel.pods { expect(from: pod, to: to, connected) }
    }

    /// Upstream's `ExpectPeer(from, to, connected)`: every pair whose ends match the peers.
    public mutating func expectPeer(from: Peer, to: Peer, _ connected: Bool) {
        for source in NetpolModel.pods where from.matches(source) {
            for destination in NetpolModel.pods where to.matches(destination) { expect(from: source, to: destination, connected) }
        }
    }

    /// The pairs where `observed` differs from this table.
    public func differences(from observed: Reachability) -> [(from: NetpolPod, to: NetpolPod, expected: Bool)] {
        var result: [(from: NetpolPod, to: NetpolPod, expected: Bool)] = []
        for from in NetpolModel.pods {
            for to in NetpolModel.pods where to != from && self[from, to] != observed[from, to] {
                result.append((from, to, self[from, to]))
            }
        }
        return result
    }

    /// The table as upstream prints it: a row per source, `.` connected, `X` blocked, `-` self.
    public var rendered: String {
        let pods = NetpolModel.pods
        var lines = ["-\t" + pods.map(\.description).joined(separator: "\t")]
        for from in pods {
            lines.append(from.description + "\t" + pods.map { to in from == to ? "-" : (self[from, to] ? "." : "X") }.joined(separator: "\t"))
        }
        return lines.joined(separator: "\n")
    }
}

/// Upstream's `Peer`: matches pods by namespace, pod name, both, or (both `nil`) every pod.
public struct Peer: Hashable, Sendable {
    public var namespace: String?
    public var pod: String?

    public init(namespace: String? = nil, pod: String? = nil) {
        self.namespace = namespace
        self.pod = pod
    }

    public func matches(_ candidate: NetpolPod) -> Bool {
        (namespace == nil || namespace == candidate.namespace) && (pod == nil || pod == candidate.name)
    }
}
