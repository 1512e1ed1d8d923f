import Foundation
import Lab
import NetpolConformance
import NetpolConformanceLab

/// The measurements of `compare` that watch the cluster's control plane: agent memory,
/// convergence after a node joins, and NetworkPolicy enforcement.
extension ComparisonMeasurement {
    /// The mean resident set size of the nodes' agents, in MiB: per node, the agent's whole
    /// process tree (VmRSS of /proc/PID/status of the agent and every descendant), so canal's
    /// swift-canald counts with the swift-flanneld it supervises.
    /// The agent's pid is in its pid file next to its log (`agent.pid`: `PID COMM`).
    func agentMemory(_ lab: Lab) async throws -> Double {
        var sizes: [Double] = []
        for node in await lab.nodes() {
            let log = lab.agentLogPath(node.index)
            let pidFile = (log.hasSuffix(".log") ? String(log.dropLast(4)) : log) + ".pid"
            guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                let pid = text.split(separator: " ").first.flatMap({ Int32($0) }),
                let kibibytes = ProcessTreeMemory.residentKibibytes(root: pid)
            else { throw LabError(.notFound, "no running agent on node \(node.index)") }
            sizes.append(kibibytes / 1024)
        }
        guard !sizes.isEmpty else { throw LabError(.notFound, "no agents") }
        return sizes.reduce(0, +) / Double(sizes.count)
    }

    /// Seconds from `node add` until a pod on the new node reaches, and is reached from, every
    /// other pod (TCP port 80, the whole matrix connected).
    func convergence(_ lab: Lab) async throws -> Double {
        announce("[\(profile.name)] node join: node add + 1 pod until the probe matrix is full…")
        let start = ContinuousClock.now
        let node = try await lab.addNode()
        try await lab.addPod(try PodReference(parsing: "\(Self.podNamespace)/joined"), node: node.index)
        return try await waitForFullMatrix(lab, since: start)
    }

    /// Probes (TCP port 80) until every pod reaches every other; returns the seconds since `start`.
    func waitForFullMatrix(_ lab: Lab, since start: ContinuousClock.Instant) async throws -> Double {
        let options = ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 300)
        let deadline = start + .milliseconds(settings.convergenceTimeoutMilliseconds)
        while ContinuousClock.now < deadline {
            let results = try await lab.probe(options)
            if !results.isEmpty, results.allSatisfy(\.connected) { return (ContinuousClock.now - start).seconds }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LabError(.timedOut, "the probe matrix was not full within \(settings.convergenceTimeoutMilliseconds) ms")
    }

    /// Applies a deny-all ingress NetworkPolicy to the pods' namespace through the lab's policy
    /// API and probes: enforced when no TCP probe between the pods connects any more (before:
    /// they all did) within `policyTimeoutMilliseconds`. For agents that report the store
    /// revision they enforce, the time is until every node reports the policy (then one probe
    /// must find everything blocked); otherwise probes are repeated until the timeout.
    func policy(_ lab: Lab, into result: inout ComparisonFigures) async throws {
        announce("[\(profile.name)] NetworkPolicy: deny-all ingress, probing…")
        let options = ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 300)
        let before = try await lab.probe(options)
        guard !before.isEmpty, before.allSatisfy(\.connected) else {
            throw LabError(.plugin, "pods do not all reach each other before the policy is applied")
        }
        try await lab.applyPolicies(
            """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: compare-deny-all, namespace: \(Self.podNamespace)}
            spec: {podSelector: {}, policyTypes: [Ingress]}
            """)
        let start = ContinuousClock.now
        let deadline = start + .milliseconds(settings.policyTimeoutMilliseconds)
        // Agents that report what they enforce (calico, canal): the time is when the last one
        // reports the policy, checked by one probe right after.
        if await lab.enforcesPolicy {
            let waited = try await lab.waitForPolicyEnforcement(timeout: .milliseconds(settings.policyTimeoutMilliseconds))
            let results = try await lab.probe(options)
            result.enforcesPolicy = results.allSatisfy { !$0.connected }
            if result.enforcesPolicy == true { result.policyEnforcementSeconds = waited.seconds }
            return
        }
        while ContinuousClock.now < deadline {
            let results = try await lab.probe(options)
            if results.allSatisfy({ !$0.connected }) {
                result.enforcesPolicy = true
                result.policyEnforcementSeconds = (ContinuousClock.now - start).seconds
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        result.enforcesPolicy = false
    }

    /// Upstream's NetworkPolicy e2e cases (`cnilab netpol`'s runner) on the same lab: the
    /// representative subset (`--quick`: two of its cases), after the deny policy is removed.
    func netpolCases(_ lab: Lab, into result: inout ComparisonFigures) async throws {
        try await lab.deletePolicy(namespace: Self.podNamespace, name: "compare-deny-all")
        let cases = settings.netpolCaseLimit.map { Array(NetpolCatalogue.representative.prefix($0)) } ?? NetpolCatalogue.representative
        announce("[\(profile.name)] upstream NetworkPolicy e2e cases (\(cases.count))…")
        let runner = NetpolRunner(lab: lab)
        try await runner.prepare()
        let report = try await runner.run(cases)
        result.netpolCasesRun = report.cases.count
        result.netpolCasesPassed = report.passed
        for failure in report.cases where !failure.passed {
            result.errors.append("netpol case \(failure.id) failed (cnilab netpol --case \(failure.id) shows the tables)")
        }
    }
}
