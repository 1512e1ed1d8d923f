import Synchronization
import TestSupport
import Testing
@testable import Datastore
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct EtcdDatastoreTests {
    @Test func fulfilsTheContractOnARealEtcd() async throws {
        try await EtcdCluster.with(members: 1) { cluster in
            let store = try StoreLocation.open(cluster.location)
            let failures = try await exerciseContract(store, prefix: "/t/")
            #expect(failures.isEmpty, "\(failures)")
            let transactionFailures = try await exerciseTransactions(store, prefix: "/t/")
            #expect(transactionFailures.isEmpty, "\(transactionFailures)")
            // Binary values survive base64 both ways.
            try await store.put("/bin", value: [0, 255, 10, 13])
            #expect(try await store.get("/bin")?.value == [0, 255, 10, 13])
        }
    }

    @Test func leaseExpiresOnEtcd() async throws {
        try await EtcdCluster.with(members: 1) { cluster in
            let store = EtcdDatastore(endpoints: cluster.endpoints)
            let lease = try await store.grantLease(ttlSeconds: 1)
            try await store.put("/lease/x", value: [1], lease: lease.id)
            #expect(try await store.get("/lease/x")?.lease == lease.id)
            let deadline = FileSystem.nowMilliseconds() + 5000
            while try await store.get("/lease/x") != nil, FileSystem.nowMilliseconds() < deadline { await sleepMilliseconds(100) }
            #expect(try await store.get("/lease/x") == nil)
        }
    }

    @Test func failsOverFromADeadEndpoint() async throws {
        try await EtcdCluster.with(members: 1) { cluster in
            let dead = HTTPEndpoint(host: "127.0.0.1", port: freeLoopbackPort())
            // "localhost" may resolve to ::1 first while etcd listens on 127.0.0.1 only.
            let byName = HTTPEndpoint(host: "localhost", port: cluster.members[0].clientPort)
            let store = EtcdDatastore(endpoints: [dead, byName], requestTimeoutMilliseconds: 500)
            try await store.put("/failover", string: "ok")
            #expect(try await store.get("/failover")?.string == "ok")
            var events = store.watch(prefix: "/failover", fromRevision: 1).makeAsyncIterator()
            #expect(try await events.next()?.keyValue.string == "ok")
        }
    }

    @Test func noAnsweringEndpointGivesAClearError() async throws {
        try await withTimeout(.seconds(30), "noAnsweringEndpointGivesAClearError") { try await Self.noAnsweringEndpoint() }
    }

    static func noAnsweringEndpoint() async throws {
        let ports = [freeLoopbackPort(), freeLoopbackPort()]
        let store = EtcdDatastore(
            endpoints: ports.map { HTTPEndpoint(host: "127.0.0.1", port: $0) }, requestTimeoutMilliseconds: 200,
            operationTimeoutMilliseconds: 400)
        do {
            _ = try await store.get("/x")
            Issue.record("must fail")
        } catch let error as DatastoreError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("127.0.0.1:\(ports[0])") && error.message.contains("127.0.0.1:\(ports[1])"))
            #expect(error.message.contains("refused"))
        }
    }

    /// A 3-member cluster loses its leader in the middle of a stream of writes: every write that
    /// was acknowledged is still there afterwards, writing goes on through the survivors, and a
    /// watch started before sees every acknowledged write (it resumes on a survivor).
    @Test func leaderKilledDuringWritesLosesNothingAcknowledged() async throws {
        try await EtcdCluster.with(members: 3) { cluster in
            let store = EtcdDatastore(endpoints: cluster.endpoints, requestTimeoutMilliseconds: 1000, operationTimeoutMilliseconds: 8000)
            let watched = WatchedKeys()
            // Until cancelled: a write that failed may or may not have happened, so the watch
            // cannot know how many events to wait for (waiting for 200 hung when one failed).
            let watch = Task {
                do {
                    for try await event in store.watch(prefix: "/ha/", fromRevision: 1) { watched.insert(event.keyValue.key) }
                } catch {
                    watched.fail(error)
                }
            }
            defer { watch.cancel() }
            var acknowledged: [String] = []
            var failures: [String] = []
            var killed: Int?
            for index in 0..<200 {
                if index == 60 {
                    killed = try await cluster.leaderIndex()
                    try #require(killed != nil, "no leader found")
                    await cluster.kill(member: killed!)
                }
                let key = "/ha/\(index)"
                do {
                    try await store.put(key, string: "v\(index)")
                    acknowledged.append(key)
                } catch {
                    failures.append("\(key): \(error)")
                }
            }
            #expect(acknowledged.count >= 190, "acknowledged \(acknowledged.count), failed: \(failures.prefix(3))")
            let stored = Set(try await store.list(prefix: "/ha/").items.map(\.key))
            let lost = acknowledged.filter { !stored.contains($0) }
            #expect(lost.isEmpty, "lost after leader \(killed ?? -1) was killed: \(lost)")
            #expect(try await cluster.leaderIndex() != killed)
            let deadline = ContinuousClock.now + .seconds(60)
            while watched.missing(from: acknowledged) > 0, watched.error == nil, ContinuousClock.now < deadline {
                await sleepMilliseconds(50)
            }
            #expect(watched.missing(from: acknowledged) == 0 && watched.error == nil,
                    "the watch missed \(watched.missing(from: acknowledged)) acknowledged writes; error: \(String(describing: watched.error))")
        }
    }
}

/// What a watch task has seen so far, read by the test while the watch goes on.
final class WatchedKeys: Sendable {
    private let state = Mutex<(keys: Set<String>, error: String?)>(([], nil))

    func insert(_ key: String) { state.withLock { _ = $0.keys.insert(key) } }
    func fail(_ error: any Error) { state.withLock { $0.error = "\(error)" } }
    var error: String? { state.withLock { $0.error } }
    func missing(from keys: [String]) -> Int { state.withLock { state in keys.count { !state.keys.contains($0) } } }
}
