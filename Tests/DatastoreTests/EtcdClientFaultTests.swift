import Synchronization
import TestSupport
import Testing
@testable import Datastore

/// The etcd client against servers that misbehave: every request ends, with a clear error,
/// within its time budget (request timeout per attempt, operation timeout overall), and a watch
/// ends when its task is cancelled, whatever the server does. Each test is bounded, so a
/// regression fails here instead of hanging the test run.
@Suite struct EtcdClientFaultTests {
    /// The budgets here are about a second; the bound only separates "ends" from "never": a
    /// full parallel test run on two cores can delay a resumed task by many seconds.
    static let generousBound = Duration.seconds(60)

    static func store(_ servers: [ScriptedServer], operationMilliseconds: Int = 1000) -> EtcdDatastore {
        EtcdDatastore(endpoints: servers.map(\.endpoint), requestTimeoutMilliseconds: 300, operationTimeoutMilliseconds: operationMilliseconds)
    }

    /// Runs `body`, which must throw a DatastoreError, and returns it with the time it took.
    static func failure(
        _ what: String, _ body: @escaping @Sendable () async throws -> Void
    ) async throws -> (error: DatastoreError?, elapsed: Duration) {
        let started = ContinuousClock.now
        let error: DatastoreError? = try await withTimeout(.seconds(90), what) {
            do {
                try await body()
                return nil
            } catch let error as DatastoreError {
                return error
            }
        }
        return (error, ContinuousClock.now - started)
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = try ScriptedServer(.silent)
        defer { server.stop() }
        let store = Self.store([server])
        let (error, elapsed) = try await Self.failure("a get from a silent server") { _ = try await store.get("/k") }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(elapsed < Self.generousBound, "took \(elapsed)")
    }

    /// Before the exchange had a deadline, a server sending one byte every 50 ms (each receive
    /// well within its timeout) held a request, and the thread and task waiting for it, forever.
    @Test func aServerTricklingBytesCannotHoldARequest() async throws {
        let server = try ScriptedServer(.trickle)
        defer { server.stop() }
        let store = Self.store([server])
        let (error, elapsed) = try await Self.failure("a get from a trickling server") { _ = try await store.get("/k") }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(error?.message.contains("no complete response") == true, "\(String(describing: error))")
        #expect(elapsed < Self.generousBound, "took \(elapsed)")
        // The keep-alive stream is bounded the same way.
        let (keepAliveError, keepAliveElapsed) = try await Self.failure("a keep-alive to a trickling server") {
            _ = try await store.keepAlive(LeaseID(7))
        }
        #expect(keepAliveError?.code == .unavailable, "\(String(describing: keepAliveError))")
        #expect(keepAliveElapsed < Self.generousBound, "took \(keepAliveElapsed)")
    }

    @Test(arguments: [ScriptedServer.Behaviour.closeMidBody, .resetMidBody])
    func aConnectionLostMidResponseFailsTheRequest(_ behaviour: ScriptedServer.Behaviour) async throws {
        let server = try ScriptedServer(behaviour)
        defer { server.stop() }
        let store = Self.store([server])
        // Idempotent: retried until the operation timeout, then reported.
        let (error, elapsed) = try await Self.failure("a get cut off mid-response") { _ = try await store.get("/k") }
        #expect(error?.code == .unavailable, "\(String(describing: error))")
        #expect(elapsed < Self.generousBound, "took \(elapsed)")
        #expect(server.acceptedConnections >= 2, "retried: \(server.acceptedConnections)")
        // Not idempotent: one attempt, and the caller learns the outcome is unknown.
        let before = server.acceptedConnections
        let (swapError, _) = try await Self.failure("a compare-and-swap cut off mid-response") {
            _ = try await store.compareAndSwap("/k", expecting: .absent, value: [1])
        }
        #expect(swapError?.code == .unavailable)
        #expect(swapError?.message.contains("outcome is unknown") == true, "\(String(describing: swapError))")
        #expect(server.acceptedConnections == before + 1)
    }

    /// A watch whose stream goes quiet waits (that is what a watch does), and ends as soon as
    /// the task iterating it is cancelled.
    @Test func cancellingAWatchOnASilentStreamEndsIt() async throws {
        let server = try ScriptedServer(.streamThenSilence)
        defer { server.stop() }
        let store = Self.store([server])
        let watcher = Task {
            var count = 0
            for try await _ in store.watch(prefix: "/w/", fromRevision: 1) { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(300))
        watcher.cancel()
        let count = try await value(of: watcher, within: .seconds(60), "a cancelled watch on a silent stream")
        #expect(count == 0)
    }

    /// A watch whose connection keeps dropping reconnects, and gives up with an error instead
    /// of retrying forever.
    @Test func aWatchThatKeepsLosingItsConnectionReconnectsThenFails() async throws {
        let server = try ScriptedServer(.closeMidBody)
        defer { server.stop() }
        let store = Self.store([server])
        let watcher = Task {
            for try await _ in store.watch(prefix: "/w/", fromRevision: 1) {}
        }
        let result = try await withTimeout(.seconds(90), "a watch on a server that always drops it") { await watcher.result }
        #expect(throws: DatastoreError.self) { try result.get() }
        #expect(server.acceptedConnections >= 2)
    }
}
