import Datastore
import TestSupport

/// The transaction behaviour every backend must show; run against the file store and a real etcd.
func exerciseTransactions(_ store: any Datastore, prefix: String) async throws -> [String] {
    var failures: [String] = []
    func check(_ condition: Bool, _ what: String) { if !condition { failures.append(what) } }

    let existing = try await store.put(prefix + "x/held", value: Array("1".utf8))
    try await store.put(prefix + "x/doomed", string: "d")
    let watcher = Task { () -> [String] in
        var seen: [String] = []
        for try await event in store.watch(prefix: prefix + "x/", fromRevision: existing + 2) {
            seen.append("\(event.kind == .put ? "put" : "del") \(event.keyValue.key) @\(event.revision)")
            if seen.count == 3 { break }
        }
        return seen
    }
    defer { watcher.cancel() }

    // Every condition holds: every write, at one revision.
    var transaction = DatastoreTransaction()
    transaction.require(prefix + "x/held", .modRevision(existing))
    transaction.require(prefix + "x/new", .absent)
    transaction.put(prefix + "x/held", value: Array("2".utf8))
    transaction.put(prefix + "x/new", value: Array("first".utf8))
    transaction.put(prefix + "x/new", value: Array("n".utf8))
    transaction.delete(prefix + "x/doomed")
    transaction.delete(prefix + "x/never-was")
    let result = try await store.commit(transaction)
    check(result.succeeded, "transaction whose conditions hold: \(result)")
    let held = try await store.get(prefix + "x/held")
    let new = try await store.get(prefix + "x/new")
    check(held?.string == "2" && held?.modRevision == result.revision, "conditioned key written: \(String(describing: held))")
    check(new?.string == "n" && new?.modRevision == result.revision && new?.version == 1, "last write of a key wins: \(String(describing: new))")
    check(try await store.get(prefix + "x/doomed") == nil, "delete in a transaction")
    let seen = try await withTimeout(.seconds(30), "the transaction's watch events") { try await watcher.value }
    check(Set(seen) == ["put \(prefix)x/held @\(result.revision)", "put \(prefix)x/new @\(result.revision)", "del \(prefix)x/doomed @\(result.revision)"],
          "watchers see one revision: \(seen)")

    // One condition fails: nothing is written, the conditioned keys' state comes back.
    var stale = DatastoreTransaction()
    stale.require(prefix + "x/held", .modRevision(existing))
    stale.require(prefix + "x/new", .modRevision(result.revision))
    stale.require(prefix + "x/other", .absent)
    stale.put(prefix + "x/held", value: Array("3".utf8))
    stale.put(prefix + "x/other", value: Array("o".utf8))
    let refused = try await store.commit(stale)
    check(!refused.succeeded, "stale condition refused")
    check(refused.current[prefix + "x/held"]?.string == "2" && refused.current[prefix + "x/new"]?.string == "n"
          && refused.current[prefix + "x/other"] == nil, "current state reported: \(refused.current.keys.sorted())")
    check(try await store.get(prefix + "x/held")?.string == "2", "nothing written by a refused transaction")
    check(try await store.get(prefix + "x/other") == nil, "no partial write")

    // Writes only (no condition), and a lease that does not exist fails the whole transaction.
    let lease = try await store.grantLease(ttlSeconds: 30)
    var leased = DatastoreTransaction()
    leased.put(prefix + "x/leased", value: Array("l".utf8), lease: lease.id)
    leased.put(prefix + "x/plain", value: Array("p".utf8))
    check(try await store.commit(leased).succeeded, "unconditional transaction")
    check(try await store.get(prefix + "x/leased")?.lease == lease.id, "lease attached in a transaction")
    try await store.revokeLease(lease.id)
    check(try await store.get(prefix + "x/leased") == nil, "revoked with its lease")
    var lost = DatastoreTransaction()
    lost.put(prefix + "x/plain", value: Array("changed".utf8))
    lost.put(prefix + "x/leased", value: Array("l".utf8), lease: lease.id)
    do {
        _ = try await store.commit(lost)
        failures.append("a transaction with a revoked lease must fail")
    } catch {}
    check(try await store.get(prefix + "x/plain")?.string == "p", "failed transaction wrote nothing")
    return failures
}
