#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The whole state of a file store, as kept in `DIR/state.json`: a pure value with the
/// store's rules (revisions, leases, event log). The file backend loads it under the lock,
/// mutates it, and writes it back atomically.
struct FileStoreState: Codable, Sendable {
    struct Entry: Codable, Sendable {
        var value: String?
        var base64: String?
        var createRevision: Int64
        var modRevision: Int64
        var version: Int64
        var lease: Int64?

        var bytes: [UInt8] {
            if let value { return Array(value.utf8) }
            if let base64, let data = Data(base64Encoded: base64) { return Array(data) }
            return []
        }

        static func encode(_ bytes: [UInt8]) -> (String?, String?) {
            if let text = String(validating: bytes, as: UTF8.self) { return (text, nil) }
            return (nil, Data(bytes).base64EncodedString())
        }
    }

    struct LeaseEntry: Codable, Sendable {
        var ttlSeconds: Int64
        var deadlineMilliseconds: Int64
    }

    var revision: Int64 = 0
    /// Events with a revision at or below this were dropped from the log.
    var compactedRevision: Int64 = 0
    var nextLease: Int64 = 1
    var keys: [String: Entry] = [:]
    var leases: [String: LeaseEntry] = [:]
    /// The change log, one line per change: `REVISION p KEY` or `REVISION d KEY`. One JSON
    /// string rather than an array of objects: decoding it costs next to nothing, and only
    /// watchers parse it. Values are not copied into the log; a put is replayed from the key's
    /// current entry while that entry is still the one the put wrote.
    var log: String = ""
    var logLines: Int = 0

    static let eventLogLimit = 4096
    static let eventLogTrim = 1024

    func keyValue(_ key: String) -> KeyValue? {
        keys[key].map { Self.keyValue(key, $0) }
    }

    static func keyValue(_ key: String, _ entry: Entry) -> KeyValue {
        KeyValue(
            key: key, value: entry.bytes, createRevision: entry.createRevision,
            modRevision: entry.modRevision, version: entry.version, lease: entry.lease.map(LeaseID.init))
    }

    mutating func put(_ key: String, _ bytes: [UInt8], lease: LeaseID?, now: Int64) throws {
        if let lease, leases[String(lease.rawValue)] == nil {
            throw DatastoreError(.leaseNotFound, "lease \(lease) does not exist")
        }
        revision += 1
        write(key, bytes, lease: lease, at: revision)
    }

    /// Writes `key` as changed at `revision` (which the caller has already taken).
    private mutating func write(_ key: String, _ bytes: [UInt8], lease: LeaseID?, at revision: Int64) {
        let (text, base64) = Entry.encode(bytes)
        var entry = Entry(
            value: text, base64: base64, createRevision: revision, modRevision: revision, version: 1,
            lease: lease?.rawValue)
        if let old = keys[key] {
            entry.createRevision = old.createRevision
            entry.version = old.version + 1
        }
        keys[key] = entry
        record(revision: revision, delete: false, key: key)
    }

    /// Applies a transaction: when every condition holds, every write at one new revision (as
    /// etcd does); otherwise nothing, and the conditioned keys' current state.
    mutating func commit(_ transaction: DatastoreTransaction) throws -> TransactionResult {
        let holds = transaction.conditions.allSatisfy { requirement in
            switch requirement.condition {
            case .absent: keys[requirement.key] == nil
            case .modRevision(let revision): keys[requirement.key]?.modRevision == revision
            }
        }
        guard holds else {
            var current: [String: KeyValue] = [:]
            for requirement in transaction.conditions { current[requirement.key] = keyValue(requirement.key) }
            return TransactionResult(succeeded: false, revision: revision, current: current)
        }
        let operations = transaction.effectiveOperations
        for case .put(_, _, let lease?) in operations where leases[String(lease.rawValue)] == nil {
            throw DatastoreError(.leaseNotFound, "lease \(lease) does not exist")
        }
        let changes = operations.contains { operation in
            if case .delete(let key) = operation { keys[key] != nil } else { true }
        }
        guard changes else { return TransactionResult(succeeded: true, revision: revision) }
        revision += 1
        for operation in operations {
            switch operation {
            case .put(let key, let value, let lease):
                write(key, value, lease: lease, at: revision)
            case .delete(let key):
                if keys.removeValue(forKey: key) != nil { record(revision: revision, delete: true, key: key) }
            }
        }
        return TransactionResult(succeeded: true, revision: revision)
    }

    @discardableResult
    mutating func delete(_ key: String) -> Bool {
        guard keys.removeValue(forKey: key) != nil else { return false }
        revision += 1
        record(revision: revision, delete: true, key: key)
        return true
    }

    private mutating func record(revision: Int64, delete: Bool, key: String) {
        log += "\(revision) \(delete ? "d" : "p") \(key)\n"
        logLines += 1
        if logLines > Self.eventLogLimit {
            // Drop the oldest lines in one go (amortized), remembering the last dropped revision.
            var dropped = 0
            var index = log.startIndex
            var lastDropped = compactedRevision
            while dropped < Self.eventLogTrim, let newline = log[index...].firstIndex(of: "\n") {
                if let space = log[index..<newline].firstIndex(of: " "), let value = Int64(log[index..<space]) {
                    lastDropped = value
                }
                index = log.index(after: newline)
                dropped += 1
            }
            log.removeSubrange(log.startIndex..<index)
            logLines -= dropped
            compactedRevision = lastDropped
        }
    }

    mutating func grantLease(ttlSeconds: Int64, now: Int64) -> Lease {
        let id = nextLease
        nextLease += 1
        leases[String(id)] = LeaseEntry(ttlSeconds: ttlSeconds, deadlineMilliseconds: now + ttlSeconds * 1000)
        return Lease(id: LeaseID(id), ttlSeconds: ttlSeconds)
    }

    mutating func keepAlive(_ lease: LeaseID, now: Int64) throws -> Int64 {
        guard var entry = leases[String(lease.rawValue)] else {
            throw DatastoreError(.leaseNotFound, "lease \(lease) does not exist or expired")
        }
        entry.deadlineMilliseconds = now + entry.ttlSeconds * 1000
        leases[String(lease.rawValue)] = entry
        return entry.ttlSeconds
    }

    mutating func revokeLease(_ lease: LeaseID) throws {
        guard leases.removeValue(forKey: String(lease.rawValue)) != nil else {
            throw DatastoreError(.leaseNotFound, "lease \(lease) does not exist or expired")
        }
        deleteKeys(of: [lease.rawValue])
    }

    /// Removes expired leases and their keys. Returns whether anything changed.
    mutating func expireLeases(now: Int64) -> Bool {
        let expired = leases.filter { $0.value.deadlineMilliseconds <= now }.keys
        guard !expired.isEmpty else { return false }
        for id in expired { leases.removeValue(forKey: id) }
        deleteKeys(of: Set(expired.compactMap { Int64($0) }))
        return true
    }

    private mutating func deleteKeys(of leaseIDs: Set<Int64>) {
        let doomed = keys.filter { $0.value.lease.map(leaseIDs.contains) ?? false }.keys.sorted()
        for key in doomed { delete(key) }
    }

    /// The events at or after `revision` for keys under `prefix`. A put that a later change
    /// of the same key superseded is skipped (the later event follows), so a watcher sees
    /// every key's changes in revision order and always ends at its current state, but not
    /// every intermediate value (etcd would deliver those too).
    func events(from revision: Int64, prefix: String) throws -> [WatchEvent] {
        if revision <= compactedRevision {
            throw DatastoreError(
                .compacted, "revision \(revision) is compacted (oldest kept: \(compactedRevision + 1))")
        }
        var result: [WatchEvent] = []
        for line in log.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let eventRevision = Int64(fields[0]), eventRevision >= revision else { continue }
            let key = String(fields[2])
            guard key.hasPrefix(prefix) else { continue }
            if fields[1] == "d" {
                result.append(WatchEvent(
                    kind: .delete,
                    keyValue: KeyValue(key: key, value: [], createRevision: 0, modRevision: eventRevision, version: 0)))
            } else if let entry = keys[key], entry.modRevision == eventRevision {
                result.append(WatchEvent(kind: .put, keyValue: Self.keyValue(key, entry)))
            }
        }
        return result
    }
}
