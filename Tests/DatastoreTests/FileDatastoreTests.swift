import ChildProcess
import Synchronization
import TestSupport
import Testing
@testable import Datastore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct FileDatastoreTests {
    @Test func fulfilsTheContract() async throws {
        try await withTimeout(.seconds(120), "fulfilsTheContract") {
            try await withTemporaryDirectory { directory in
                let store = try StoreLocation.open("file:\(directory)/store")
                let failures = try await exerciseContract(store, prefix: "/t/")
                #expect(failures.isEmpty, "\(failures)")
                let transactionFailures = try await exerciseTransactions(store, prefix: "/t/")
                #expect(transactionFailures.isEmpty, "\(transactionFailures)")
            }
        }
    }

    /// A clock the test moves by hand, so lease tests do not depend on scheduling.
    final class ManualClock: Sendable {
        private let milliseconds = Mutex<Int64>(1_000_000)
        func now() -> Int64 { milliseconds.withLock { $0 } }
        func advance(by delta: Int64) { milliseconds.withLock { $0 += delta } }
    }

    @Test func leasesExpireAndWatchersSeeTheDelete() async throws {
        try await withTimeout(.seconds(120), "leasesExpireAndWatchersSeeTheDelete") {
            try await withTemporaryDirectory { directory in
                let clock = ManualClock()
                let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 20, synchronousWrites: true, clock: clock.now)
                let lease = try await store.grantLease(ttlSeconds: 10)
                try await store.put("/lease/a", value: [1], lease: lease.id)
                let start = try await store.list(prefix: "").revision + 1
                let watcher = Task { () -> WatchEvent? in
                    for try await event in store.watch(prefix: "/lease/", fromRevision: start) { return event }
                    return nil
                }
                clock.advance(by: 9_999)
                #expect(try await store.get("/lease/a") != nil)
                clock.advance(by: 1)
                #expect(try await store.get("/lease/a") == nil)
                let event = try await value(of: watcher, within: .seconds(10), "the lease watch")
                #expect(event?.kind == .delete && event?.keyValue.key == "/lease/a")
                await #expect(throws: DatastoreError.self) { try await store.keepAlive(lease.id) }
                await #expect(throws: DatastoreError.self) { try await store.put("/x", value: [], lease: lease.id) }
            }
        }
    }

    @Test func keepAliveExtendsALease() async throws {
        try await withTimeout(.seconds(120), "keepAliveExtendsALease") {
            try await withTemporaryDirectory { directory in
                let clock = ManualClock()
                let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 100, synchronousWrites: true, clock: clock.now)
                let lease = try await store.grantLease(ttlSeconds: 2)
                try await store.put("/k", value: [1], lease: lease.id)
                for _ in 0..<5 {  // 7.5 s in all: far longer than the TTL
                    clock.advance(by: 1_500)
                    #expect(try await store.keepAlive(lease.id) == 2)
                }
                #expect(try await store.get("/k") != nil)
                clock.advance(by: 2_000)
                #expect(try await store.get("/k") == nil)
            }
        }
    }

    /// The real clock, once: a 1 s lease really expires.
    @Test func leaseExpiresByTheWallClock() async throws {
        try await withTimeout(.seconds(120), "leaseExpiresByTheWallClock") {
            try await withTemporaryDirectory { directory in
                let store = try FileDatastore(directory: directory)
                let lease = try await store.grantLease(ttlSeconds: 1)
                _ = try? await store.put("/k", value: [1], lease: lease.id)
                await sleepMilliseconds(1_100)
                #expect(try await store.get("/k") == nil)
                await #expect(throws: DatastoreError.self) { try await store.keepAlive(lease.id) }
            }
        }
    }

    @Test func stateSurvivesStaleTemporaryFilesAndReportsCorruption() async throws {
        try await withTimeout(.seconds(120), "stateSurvivesStaleTemporaryFilesAndReportsCorruption") {
            try await withTemporaryDirectory { directory in
                let store = try FileDatastore(directory: directory)
                try await store.put("/a", string: "kept")
                // A writer that died after writing half a temporary file: the state is untouched.
                let stale = open(directory + "/state.json.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = write(stale, "{\"revision\":9", 13)
                close(stale)
                #expect(try await store.get("/a")?.string == "kept")
                try await store.put("/b", string: "new")
                #expect(try await store.list(prefix: "/").items.count == 2)
                // A damaged state file is reported, not silently reset.
                let damaged = open(directory + "/state.json", O_WRONLY | O_TRUNC)
                _ = write(damaged, "{\"rev", 5)
                close(damaged)
                do {
                    _ = try await store.get("/a")
                    Issue.record("corrupted state must throw")
                } catch let error as DatastoreError {
                    #expect(error.code == .corrupted)
                }
            }
        }
    }

    @Test func watchOfACompactedRevisionFails() async throws {
        try await withTimeout(.seconds(120), "watchOfACompactedRevisionFails") {
            try await withTemporaryDirectory { directory in
                let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 10)
                var state = FileStoreState()
                for index in 0..<(FileStoreState.eventLogLimit + 10) { try state.put("/k", [UInt8(index & 0xff)], lease: nil, now: 0) }
                #expect(state.logLines <= FileStoreState.eventLogLimit && state.compactedRevision > 0)
                #expect(throws: DatastoreError.self) { try state.events(from: 5, prefix: "") }
                try await store.put("/a", string: "1")
                var iterator = store.watch(prefix: "", fromRevision: 1).makeAsyncIterator()
                #expect(try await iterator.next()?.keyValue.key == "/a")
            }
        }
    }

    /// Threads of one process, each operation on its own file descriptor: the flock serializes them.
    @Test func concurrentTasksNeverLoseAnIncrement() async throws {
        try await withTimeout(.seconds(120), "concurrentTasksNeverLoseAnIncrement") {
            try await withTemporaryDirectory { directory in
                let store = try FileDatastore(directory: directory)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<8 {
                        group.addTask { for _ in 0..<25 { try await increment(store, "/counter") } }
                    }
                    try await group.waitForAll()
                }
                #expect(try await store.get("/counter")?.string == "200")
            }
        }
    }

    /// Separate processes (datastore-tool) incrementing one counter with compare-and-swap.
    @Test func concurrentProcessesNeverLoseAnIncrement() async throws {
        try await withTimeout(.seconds(120), "concurrentProcessesNeverLoseAnIncrement") {
            let tool = TestDirectories.products + "/datastore-tool"
            try #require(access(tool, X_OK) == 0, "build datastore-tool first (swift build)")
            try await withTemporaryDirectory { directory in
                let processes = try (0..<5).map { _ in
                    try ChildProcess.launch(tool, arguments: ["file:\(directory)", "increment", "/counter", "40"], standardError: .inherit)
                }
                for process in processes { #expect(try await offPool { try process.wait() } == .exited(0)) }
                let store = try FileDatastore(directory: directory)
                #expect(try await store.get("/counter")?.string == "200")
                #expect(try await store.get("/counter")?.version == 200)
            }
        }
    }

    /// Writers killed with SIGKILL at arbitrary points never leave a state that fails to load,
    /// and every increment that was committed is complete (value == version).
    @Test func writersKilledMidWriteNeverCorruptTheState() async throws {
        try await withTimeout(.seconds(120), "writersKilledMidWriteNeverCorruptTheState") {
            let tool = TestDirectories.products + "/datastore-tool"
            try #require(access(tool, X_OK) == 0, "build datastore-tool first (swift build)")
            try await withTemporaryDirectory { directory in
                for round in 0..<5 {
                    let processes = try (0..<3).map { _ in
                        try ChildProcess.launch(tool, arguments: ["file:\(directory)", "increment", "/counter", "100000"])
                    }
                    await sleepMilliseconds(60 + 40 * round)
                    // On a loaded machine the writers may not have committed anything yet: the
                    // checks below need at least one increment (bounded wait).
                    let reader = try FileDatastore(directory: directory)
                    let deadline = ContinuousClock.now + .seconds(20)
                    while try await reader.get("/counter") == nil, ContinuousClock.now < deadline { await sleepMilliseconds(20) }
                    for process in processes { process.signal(SIGKILL) }
                    for process in processes { _ = try await offPool { try process.wait() } }
                    let store = try FileDatastore(directory: directory)
                    let counter = try await store.get("/counter")
                    #expect(counter != nil)
                    #expect(counter.map { Int64($0.string) == $0.version } == true, "\(String(describing: counter))")
                }
            }
        }
    }
}

func increment(_ store: any Datastore, _ key: String) async throws {
    while true {
        let current = try await store.get(key)
        let next = (current.flatMap { Int($0.string) } ?? 0) + 1
        let condition: Condition = current.map { .modRevision($0.modRevision) } ?? .absent
        if try await store.compareAndSwap(key, expecting: condition, value: Array(String(next).utf8)).succeeded { return }
    }
}
