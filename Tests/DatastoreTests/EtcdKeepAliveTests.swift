import Synchronization
import TestSupport
import Testing
@testable import Datastore

/// The etcd client keeps its connection alive between requests: one TCP (and TLS) handshake
/// for a run of requests instead of one each, and a kept connection that the server closed or
/// drops is never a failure the caller sees, except for a compare-and-swap whose outcome
/// would be unknown.
@Suite struct EtcdKeepAliveTests {
    @Test(.privileged) func aRunOfRequestsUsesOneConnection() async throws {
        for clientCertificates in [false, true] {
            try await EtcdCluster.with(members: 1, guard: EtcdCluster.Guard(clientCertificates: clientCertificates)) { cluster in
                // A loaded machine may leave seconds between requests: the compare-and-swaps
                // may use the kept connection however long it idled (the default is 2 s).
                let store = EtcdDatastore(endpoints: cluster.endpoints, security: cluster.security, unsafeRequestIdleMilliseconds: 600_000)
                for index in 0..<10 {
                    _ = try await store.put("/swcni/keepalive/\(index)", value: Array("v\(index)".utf8))
                    _ = try await store.get("/swcni/keepalive/\(index)")
                    #expect(try await store.create("/swcni/keepalive/new\(index)", value: [1]))
                }
                #expect(try await store.list(prefix: "/swcni/keepalive/").items.count == 20)
                #expect(store.connectionsOpened == 1, "TLS \(clientCertificates): \(store.connectionsOpened) connections")
            }
        }
    }

    @Test func aConnectionTheServerClosedWhileIdleIsReplaced() async throws {
        let server = try ScriptedServer(.answerKeepingAlive)
        defer { server.stop() }
        let store = EtcdDatastore(
            endpoints: [server.endpoint], requestTimeoutMilliseconds: 5_000, operationTimeoutMilliseconds: 20_000,
            unsafeRequestIdleMilliseconds: 600_000)
        _ = try await store.get("/k")
        _ = try await store.get("/k")
        #expect(server.acceptedConnections == 1)
        server.closeConnections()
        try await Task.sleep(for: .milliseconds(300))
        // The kept connection is seen closed before the request is risked on it.
        #expect(try await store.create("/k", value: [1]) == false)
        #expect(server.acceptedConnections == 2)
        #expect(store.connectionsOpened == 2)
    }

    @Test func aKeptConnectionDroppedUnderARequestRetriesOnlyWhatMayBeRetried() async throws {
        let server = try ScriptedServer(.answerOnceThenDropNext)
        defer { server.stop() }
        // One attempt per round, and the kept connection trusted with a compare-and-swap however
        // long a loaded machine leaves between the requests.
        let store = EtcdDatastore(
            endpoints: [server.endpoint], requestTimeoutMilliseconds: 5_000, operationTimeoutMilliseconds: 5_000,
            unsafeRequestIdleMilliseconds: 600_000)
        _ = try await store.get("/k")
        // The kept connection is dropped under the second get: it goes again on a new one.
        _ = try await store.get("/k")
        #expect(server.acceptedConnections == 2)
        // A compare-and-swap on the connection kept after that is dropped too: its outcome is
        // unknown, so it fails instead of being sent twice.
        let (error, _) = try await EtcdClientFaultTests.failure("a create on a dropped kept connection") {
            _ = try await store.create("/k", value: [1])
        }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("outcome is unknown") == true, "\(String(describing: error))")
        #expect(server.acceptedConnections == 2)
    }
}
