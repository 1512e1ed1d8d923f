import ChildProcess
import Datastore
import Foundation
import Synchronization
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    try await TestDirectories.withTemporary(prefix: "swcni-ds-", body)
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func sleepMilliseconds(_ milliseconds: Int) async {
    try? await Task.sleep(for: .milliseconds(milliseconds))
}

/// The behaviour every backend must show; run against the file store and a real etcd.
func exerciseContract(_ store: any Datastore, prefix: String) async throws -> [String] {
    var failures: [String] = []
    func check(_ condition: Bool, _ what: String) { if !condition { failures.append(what) } }

    check(try await store.get(prefix + "missing") == nil, "missing key reads nil")
    let first = try await store.put(prefix + "a", value: Array("1".utf8))
    try await store.put(prefix + "b", string: "2")
    try await store.put(prefix + "c/d", string: "3")
    try await store.put(String(prefix.dropLast()) + "0outside", string: "x")
    let a = try await store.get(prefix + "a")
    check(a?.string == "1" && a?.modRevision == first && a?.version == 1, "put then get: \(String(describing: a))")
    let listing = try await store.list(prefix: prefix)
    check(listing.items.map(\.key) == [prefix + "a", prefix + "b", prefix + "c/d"], "list by prefix: \(listing.items.map(\.key))")
    check(listing.revision >= first, "listing revision")

    // Compare-and-swap: create-if-absent, then on the mod revision.
    check(try await store.create(prefix + "new", value: Array("v1".utf8)), "create when absent")
    let again = try await store.compareAndSwap(prefix + "new", expecting: .absent, value: Array("v2".utf8))
    check(!again.succeeded && again.current?.string == "v1", "create when present fails and reports current")
    let current = try await store.get(prefix + "new")!
    let swapped = try await store.compareAndSwap(prefix + "new", expecting: .modRevision(current.modRevision), value: Array("v2".utf8))
    check(swapped.succeeded, "swap on the right revision")
    let stale = try await store.compareAndSwap(prefix + "new", expecting: .modRevision(current.modRevision), value: Array("v3".utf8))
    check(!stale.succeeded && stale.current?.string == "v2", "swap on a stale revision fails")
    let updated = try await store.get(prefix + "new")!
    check(updated.version == 2 && updated.createRevision == current.createRevision, "version and create revision")
    let removed = try await store.compareAndSwap(prefix + "new", expecting: .modRevision(updated.modRevision), value: nil)
    check(removed.succeeded, "compare-and-delete")
    check(try await store.get(prefix + "new") == nil, "deleted by CAS")
    check(try await store.delete(prefix + "b"), "delete existing")
    check(!(try await store.delete(prefix + "b")), "delete missing")

    // Leases: keys vanish with a revoked lease; a lost lease is reported.
    let lease = try await store.grantLease(ttlSeconds: 30)
    try await store.put(prefix + "leased", value: Array("x".utf8), lease: lease.id)
    check(try await store.get(prefix + "leased")?.lease == lease.id, "key carries its lease")
    check(try await store.keepAlive(lease.id) > 0, "keep-alive")
    try await store.revokeLease(lease.id)
    check(try await store.get(prefix + "leased") == nil, "revoke deletes the lease's keys")
    do {
        try await store.keepAlive(lease.id)
        failures.append("keep-alive of a revoked lease must fail")
    } catch let error as DatastoreError {
        check(error.code == .leaseNotFound, "revoked lease: \(error)")
    }

    // Watch from a past revision replays, then follows live changes. The replayed put must
    // arrive before w/1 changes again: a file store's first poll reports only the latest change
    // of a key, so deleting w/1 before the watch has polled once would leave nothing to replay.
    let start = try await store.put(prefix + "w/1", value: Array("one".utf8))
    let replay = SeenEvents()
    let watcher = Task { await replay.follow(store.watch(prefix: prefix + "w/", fromRevision: start)) }
    defer { watcher.cancel() }
    check(await replay.wait(forCount: 1, within: .seconds(30)), "replayed event: \(replay.all)")
    try await store.put(prefix + "w/2", string: "two")
    try await store.delete(prefix + "w/1")
    _ = await replay.wait(forCount: 3, within: .seconds(30))
    check(replay.all == ["put \(prefix)w/1", "put \(prefix)w/2", "del \(prefix)w/1"], "watch events: \(replay.all)")

    // A watch without a start revision sees only what happens after it started. When it has
    // started cannot be observed, so write until it reports something (bounded).
    try await store.put(prefix + "live/before", string: "before")
    let live = SeenEvents()
    let liveWatcher = Task { await live.follow(store.watch(prefix: prefix + "live/", fromRevision: nil)) }
    defer { liveWatcher.cancel() }
    for _ in 0..<150 where live.all.isEmpty {
        try await store.put(prefix + "live/after", string: "after")
        _ = await live.wait(forCount: 1, within: .milliseconds(200))
    }
    check(live.all.first == "put \(prefix)live/after", "live watch: \(live.all)")
    return failures
}

/// The events a watch delivered, as "put KEY" / "del KEY" (or "error …"), read while it goes on.
final class SeenEvents: Sendable {
    private let events = Mutex<[String]>([])

    var all: [String] { events.withLock { $0 } }

    /// Records every event of `stream` until it ends or the task is cancelled.
    func follow(_ stream: AsyncThrowingStream<WatchEvent, any Error>) async {
        do {
            for try await event in stream {
                events.withLock { $0.append("\(event.kind == .put ? "put" : "del") \(event.keyValue.key)") }
            }
        } catch {
            events.withLock { $0.append("error \(error)") }
        }
    }

    /// Waits until at least `count` events arrived or `limit` passed; whether they arrived.
    func wait(forCount count: Int, within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while all.count < count, ContinuousClock.now < deadline { await sleepMilliseconds(10) }
        return all.count >= count
    }
}

/// The value of `task`, or a ``TestTimeoutError`` after `limit`; the task is cancelled either
/// way once this returns (awaiting `task.value` does not forward cancellation to the task, so a
/// timeout alone would leave it running: a watch would keep its connection open).
func value<T: Sendable>(of task: Task<T, any Error>, within limit: Duration, _ what: String) async throws -> T {
    defer { task.cancel() }
    return try await withTimeout(limit, what) { try await task.value }
}

/// Runs blocking work on its own thread, off the Swift concurrency pool the parallel tests share.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
