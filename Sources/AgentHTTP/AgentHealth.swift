import Synchronization

/// What `GET /healthz` reports: ready (200) or not yet, with a reason (503). Shared between an
/// agent, which updates it, and its ``StatusServer``.
public final class AgentHealth: Sendable {
    public struct Snapshot: Hashable, Sendable {
        public var ready: Bool
        public var detail: String
    }

    private let state: Mutex<Snapshot>

    /// Not ready, with `detail` as the reason, until ``update(ready:detail:)``.
    public init(ready: Bool = false, detail: String = "starting") {
        state = Mutex(Snapshot(ready: ready, detail: detail))
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func update(ready: Bool, detail: String) {
        state.withLock { $0 = Snapshot(ready: ready, detail: detail) }
    }

    /// The answer to `GET /healthz`.
    public var response: StatusServer.Response {
        let snapshot = snapshot
        return snapshot.ready ? .text("ok\n") : .text("not ready: \(snapshot.detail)\n", status: 503)
    }
}
