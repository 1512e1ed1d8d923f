import CNISpec
import Synchronization

/// What `GET /healthz` reports: ready (200) or not yet, with a reason (503). Shared between an
/// agent, which updates it, and its ``StatusServer``.
///
/// With a readiness file (``init(agent:readinessFile:ready:detail:podMTU:)``) every change is also
/// published there as CNISpec's `AgentReadiness`, which the agent's CNI plugin checks on
/// STATUS; ``withdraw()`` removes it on a clean stop.
public final class AgentHealth: Sendable {
    public struct Snapshot: Hashable, Sendable {
        public var ready: Bool
        public var detail: String
    }

    private let state: Mutex<Snapshot>
    private let publication: (record: AgentReadiness, path: String)?

    /// Not ready, with `detail` as the reason, until ``update(ready:detail:)``.
    public init(ready: Bool = false, detail: String = "starting") {
        state = Mutex(Snapshot(ready: ready, detail: detail))
        publication = nil
    }

    /// Also publishes readiness to `readinessFile` (when given) for the CNI plugin's STATUS:
    /// written now (a failure to write it is thrown, so an agent whose plugin could never see
    /// it ready does not start), rewritten on every change.
    ///
    /// `podMTU` is published with it (`AgentReadiness.podMTU`) for the plugin.
    public init(
        agent: String, readinessFile: String?, ready: Bool = false, detail: String = "starting", podMTU: Int? = nil
    ) throws(CNIError) {
        state = Mutex(Snapshot(ready: ready, detail: detail))
        if let readinessFile {
            var record = try AgentReadiness.current(agent: agent, ready: ready, detail: detail)
            record.podMTU = podMTU
            try record.publish(to: readinessFile)
            publication = (record, readinessFile)
        } else {
            publication = nil
        }
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// The readiness file, when there is one.
    public var readinessFile: String? { publication?.path }

    public func update(ready: Bool, detail: String) {
        state.withLock { snapshot in
            let new = Snapshot(ready: ready, detail: detail)
            let changed = new != snapshot
            snapshot = new
            // Under the lock, so the file follows the order of the updates.
            if changed, let publication {
                var record = publication.record
                record.ready = ready
                record.detail = detail
                try? record.publish(to: publication.path)
            }
        }
    }

    /// Removes the readiness file (a clean stop): STATUS then says the agent is not running.
    public func withdraw() {
        guard let publication else { return }
        state.withLock { _ in publication.record.withdraw(from: publication.path) }
    }

    /// The answer to `GET /healthz`.
    public var response: StatusServer.Response {
        let snapshot = snapshot
        return snapshot.ready ? .text("ok\n") : .text("not ready: \(snapshot.detail)\n", status: 503)
    }
}
