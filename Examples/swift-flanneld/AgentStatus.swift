import NIOConcurrencyHelpers

/// What /healthz reports, shared between the agent and the HTTP server.
final class AgentStatus: Sendable {
    struct Snapshot: Sendable {
        var ready = false
        var detail = "starting"
    }

    private let box = NIOLockedValueBox(Snapshot())

    var snapshot: Snapshot { box.withLockedValue { $0 } }

    func update(ready: Bool, detail: String) {
        box.withLockedValue { $0 = Snapshot(ready: ready, detail: detail) }
    }
}
