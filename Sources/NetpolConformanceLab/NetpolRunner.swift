import Foundation
import Lab
import NetPrimitives
import NetpolConformance
import Synchronization

/// Runs `NetpolCase`s (from NetpolConformance) against a live lab whose profile enforces policy (calico, canal): sets
/// up `NetpolModel`'s namespaces and pods, then for each case applies its steps through the
/// lab's policy and label API (as `cnilab policy apply` and `cnilab label` do), waits until
/// every node's agent enforces them (`Lab.waitForPolicyEnforcement(timeout:)`), probes
/// every ordered pair of distinct pods and compares with the truth table; afterwards it
/// deletes the case's policies and restores the labels.
///
/// A flow the table denies that connects fails the step at once. A flow the table allows
/// that did not connect is probed once more (a lost UDP datagram is not a policy verdict) and
/// fails the step only if it fails again.
public struct NetpolRunner: Sendable {
    public let lab: Lab
    public var options: NetpolRunOptions
    private let sourcePorts = SourcePortSequence()

    public init(lab: Lab, options: NetpolRunOptions = NetpolRunOptions()) {
        self.lab = lab
        self.options = options
    }

    /// Adds the model's pods (pod `a` on node 0, `b` on node 1, `c` on node 2, wrapping around
    /// when the lab has fewer nodes) and labels them and their namespaces.
    public func prepare() async throws {
        let nodes = await lab.nodes().map(\.index).sorted()
        guard !nodes.isEmpty else { throw LabError(.invalidArgument, "the lab has no node") }
        for namespace in NetpolModel.namespaces {
            _ = try await lab.labelNamespace(namespace, NetpolModel.labels(ofNamespace: namespace).map { "\($0)=\($1)" })
        }
        let existing = Set(await lab.pods().map(\.qualifiedName))
        for pod in NetpolModel.pods where !existing.contains(pod.description) {
            let index = NetpolModel.podNames.firstIndex(of: pod.name) ?? 0
            _ = try await lab.addPod(
                try PodReference(parsing: pod.description), node: nodes[index % nodes.count], labels: NetpolModel.labels(of: pod))
        }
        try await waitForFullConnectivity()
    }

    /// Before any policy: every pair connects on every port and protocol (routes between nodes
    /// can lag the pods, e.g. calico's BGP announcing a new block). Throws `timedOut` naming
    /// the pairs that never connected.
    func waitForFullConnectivity() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let pods = await modelPods()
        var unreachable: [ProbeResult] = []
        repeat {
            let results = try await probe(pods, ProbeOptions(ports: NetpolModel.ports, timeoutMilliseconds: options.probeTimeoutMilliseconds))
            unreachable = results.filter { !$0.connected }
            if unreachable.isEmpty { return }
            try await Task.sleep(for: .milliseconds(200))
        } while clock.now - start < options.readinessTimeout
        throw LabError(
            .timedOut, "before any policy, \(unreachable.count) probes never connected, e.g. "
                + unreachable.prefix(5).map { "\($0.from)→\($0.to) \($0.port)/\($0.protocol.rawValue)" }.joined(separator: ", "))
    }

    /// Runs `cases` one after the other; `progress` hears each result as it is known.
    public func run(_ cases: [NetpolCase], progress: (@Sendable (NetpolCaseResult) -> Void)? = nil) async throws -> NetpolReport {
        let clock = ContinuousClock()
        let start = clock.now
        var results: [NetpolCaseResult] = []
        for netpolCase in cases {
            let result = await run(netpolCase)
            progress?(result)
            results.append(result)
        }
        return NetpolReport(plugin: await lab.status().plugin, cases: results, seconds: (clock.now - start).seconds)
    }

    /// Runs one case and restores the initial state, whatever happened.
    public func run(_ netpolCase: NetpolCase) async -> NetpolCaseResult {
        let clock = ContinuousClock()
        let start = clock.now
        var result = NetpolCaseResult(id: netpolCase.id, upstreamTitle: netpolCase.upstreamTitle)
        do {
            for (index, step) in netpolCase.steps.enumerated() {
                if let outcome = try await perform(step, index: index) {
                    result.probes.append(outcome)
                    if !outcome.mismatches.isEmpty && options.stopAtFirstMismatch { break }
                }
            }
        } catch {
            result.error = "\(error)"
        }
        do { try await restore() } catch {
            result.error = (result.error.map { $0 + "; " } ?? "") + "restoring the initial state failed: \(error)"
        }
        result.seconds = (clock.now - start).seconds
        return result
    }

    private func perform(_ step: NetpolStep, index: Int) async throws -> NetpolProbeOutcome? {
        switch step {
        case .apply(let text):
            try await lab.applyPolicies(text(try await environment()))
        case .delete(let namespace, let name):
            try await lab.deletePolicy(namespace: namespace, name: name)
        case .labelPod(let pod, let changes):
            _ = try await lab.labelPod(try PodReference(parsing: pod.description), Self.labelChanges(changes))
        case .labelNamespace(let namespace, let changes):
            _ = try await lab.labelNamespace(namespace, Self.labelChanges(changes))
        case .probe(let port, let protocols, let reachability):
            return try await probe(step: index, port: port, protocols: protocols, expected: reachability)
        }
        return nil
    }

    private func probe(step: Int, port: Int, protocols: [NetpolProtocol], expected: Reachability) async throws -> NetpolProbeOutcome {
        let waited = try await lab.waitForPolicyEnforcement(timeout: options.enforcementTimeout)
        let pods = await modelPods()
        var outcome = NetpolProbeOutcome(step: step, port: port, protocols: protocols, enforcementSeconds: waited.seconds)
        for transport in protocols {
            let probeOptions = ProbeOptions(
                ports: [port], protocols: [transport == .tcp ? .tcp : .udp], timeoutMilliseconds: options.probeTimeoutMilliseconds)
            var observed = Self.table(try await self.probe(pods, probeOptions))
            var wrong = expected.differences(from: observed)
            outcome.probed += NetpolModel.pods.count * (NetpolModel.pods.count - 1)
            if wrong.contains(where: \.expected) {
                // Allowed flows that did not connect get one more chance; denied flows that
                // connected are failures already.
                outcome.retried += wrong.filter(\.expected).count
                let again = Self.table(try await self.probe(pods, probeOptions))
                for pair in wrong where pair.expected && again[pair.from, pair.to] { observed.expect(from: pair.from, to: pair.to, true) }
                wrong = expected.differences(from: observed)
            }
            outcome.mismatches += wrong.map {
                NetpolMismatch(from: $0.from.description, to: $0.to.description, protocol: transport, expected: $0.expected)
            }
            if !wrong.isEmpty {
                outcome.tables.append(NetpolTables(protocol: transport, expected: expected.rendered, observed: observed.rendered))
            }
        }
        return outcome
    }

    /// Deletes every policy, gives every pod and namespace its initial labels back, and waits
    /// until that is enforced.
    private func restore() async throws {
        for policy in try await lab.policies() {
            if policy.kind == .calicoGlobal {
                try await lab.deleteGlobalPolicy(name: policy.name)
            } else if let namespace = policy.namespace {
                try await lab.deletePolicy(namespace: namespace, name: policy.name)
            }
        }
        for pod in await lab.pods() {
            guard let model = NetpolModel.pod(named: pod.qualifiedName) else { continue }
            let changes = Self.resetChanges(current: pod.labels, initial: NetpolModel.labels(of: model))
            if !changes.isEmpty { _ = try await lab.labelPod(try PodReference(parsing: pod.qualifiedName), changes) }
        }
        let namespaceLabels = await lab.namespaceLabels()
        for namespace in NetpolModel.namespaces {
            var initial = NetpolModel.labels(ofNamespace: namespace)
            initial["kubernetes.io/metadata.name"] = namespace
            let changes = Self.resetChanges(current: namespaceLabels[namespace] ?? [:], initial: initial)
            if !changes.isEmpty { _ = try await lab.labelNamespace(namespace, changes) }
        }
        try await lab.waitForPolicyEnforcement(timeout: options.enforcementTimeout)
    }

    /// Every probe from fresh source ports: a probe never shares a 5-tuple, and so a conntrack
    /// entry, with an earlier one that a policy change since then would deny.
    private func probe(_ pods: [LabPod], _ probeOptions: ProbeOptions) async throws -> [ProbeResult] {
        var probeOptions = probeOptions
        probeOptions.families = options.family.map { [$0] } ?? [pods.first?.addresses.first.flatMap { IPAddress($0)?.family } ?? .v4]
        probeOptions.firstSourcePort = sourcePorts.take(probeOptions.sourcePortsPerPod(podCount: pods.count))
        return try await Lab.probe(pods, probeOptions)
    }

    /// The lab's pods that are the model's (others, if any, are neither probed nor restored).
    private func modelPods() async -> [LabPod] {
        await lab.pods().filter { NetpolModel.pod(named: $0.qualifiedName) != nil }
    }

    private func environment() async throws -> NetpolEnvironment {
        var addresses: [NetpolPod: String] = [:]
        for pod in await lab.pods() {
            let address = options.family.map { pod.address(of: $0) } ?? pod.address
            if let model = NetpolModel.pod(named: pod.qualifiedName), let address {
                addresses[model] = address
            }
        }
        return NetpolEnvironment(addresses: addresses)
    }

    static func table(_ results: [ProbeResult]) -> Reachability {
        var table = Reachability(allConnected: false)
        for result in results where result.connected {
            guard let from = NetpolModel.pod(named: result.from), let to = NetpolModel.pod(named: result.to)
            else { continue }
            table.expect(from: from, to: to, true)
        }
        return table
    }

    /// `kubectl label` changes: `key=value`, or `key-` for a `nil` value.
    static func labelChanges(_ changes: [String: String?]) -> [String] {
        changes.sorted { $0.key < $1.key }.map { key, value in value.map { "\(key)=\($0)" } ?? "\(key)-" }
    }

    static func resetChanges(current: [String: String], initial: [String: String]) -> [String] {
        var changes: [String: String?] = [:]
        for key in current.keys where initial[key] == nil { changes[key] = .some(nil) }
        for (key, value) in initial where current[key] != value { changes[key] = value }
        return labelChanges(changes)
    }
}

/// Consecutive source ports 20000–59999, wrapping around: at the suite's pace a port comes
/// back after minutes, long after any conntrack entry of its last use has expired.
final class SourcePortSequence: Sendable {
    private let next = Mutex<Int>(20_000)

    func take(_ count: Int) -> UInt16 {
        next.withLock { next in
            if next + count > 60_000 { next = 20_000 }
            defer { next += count }
            return UInt16(next)
        }
    }
}

/// How the runner probes and waits.
public struct NetpolRunOptions: Sendable {
    /// How long a probe waits for a TCP connection or a UDP echo.
    public var probeTimeoutMilliseconds: Int
    /// How long to wait for the agents to enforce a change before a probe.
    public var enforcementTimeout: Duration
    /// Skip a case's remaining steps after a mismatching probe.
    public var stopAtFirstMismatch: Bool
    /// How long ``NetpolRunner/prepare()`` waits for every pair to connect.
    public var readinessTimeout: Duration
    /// The address family probes use and `ipBlock` cases are built from (a pod's address of
    /// it); nil: each pod's first address, IPv4 in a dual-stack lab.
    public var family: IPAddress.Family?

    public init(
        probeTimeoutMilliseconds: Int = 400, enforcementTimeout: Duration = .seconds(15), stopAtFirstMismatch: Bool = false,
        readinessTimeout: Duration = .seconds(60), family: IPAddress.Family? = nil
    ) {
        self.family = family
        self.readinessTimeout = readinessTimeout
        self.probeTimeoutMilliseconds = probeTimeoutMilliseconds
        self.enforcementTimeout = enforcementTimeout
        self.stopAtFirstMismatch = stopAtFirstMismatch
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
