#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The embedded backend: a directory that any number of processes on one machine share (the
/// nodes of a lab, in different network namespaces, all open the same `file:DIR`).
///
/// - Every operation holds an exclusive `flock(2)` on `DIR/lock`, so operations of all
///   processes are serialized; a compare-and-swap is atomic across them.
/// - The state lives in `DIR/state.json`, replaced by write-temporary + fsync + rename: a crash
///   in the middle of a write leaves the previous state intact.
/// - Leases expire by wall clock; every operation (and every watch poll) first deletes the keys
///   of expired leases.
/// - Watches poll the state every `pollInterval` and replay the event log (the last 4,096
///   changes are kept; older revisions throw `.compacted`; superseded puts are not replayed).
/// - `synchronousWrites: false` skips the fsyncs: writes stay atomic for readers and against
///   a crashed process (rename), but the last writes may be lost on power failure.
public final class FileDatastore: Datastore {
    public let directory: String
    public let pollIntervalMilliseconds: Int
    public let synchronousWrites: Bool
    private let statePath: String
    private let lockPath: String
    /// Wall-clock milliseconds; replaceable so tests can move time deterministically.
    let clock: @Sendable () -> Int64

    /// Opens (creating when needed) the store in `directory`.
    public convenience init(directory: String, pollIntervalMilliseconds: Int = 100, synchronousWrites: Bool = true) throws {
        try self.init(
            directory: directory, pollIntervalMilliseconds: pollIntervalMilliseconds, synchronousWrites: synchronousWrites,
            clock: FileSystem.nowMilliseconds)
    }

    init(directory: String, pollIntervalMilliseconds: Int, synchronousWrites: Bool, clock: @escaping @Sendable () -> Int64) throws {
        self.clock = clock
        self.synchronousWrites = synchronousWrites
        guard !directory.isEmpty else { throw DatastoreError(.invalidStoreURL, "empty directory") }
        self.directory = directory
        self.pollIntervalMilliseconds = max(1, pollIntervalMilliseconds)
        statePath = directory + "/state.json"
        lockPath = directory + "/lock"
        try FileSystem.makeDirectories(directory)
    }

    /// Runs `body` on the state under the lock; writes the state back when the revision, the
    /// leases or the lease counter changed.
    func transaction<Result>(_ body: (inout FileStoreState, Int64) throws -> Result) throws -> Result {
        let lock = try FileSystem.lock(lockPath)
        let result: Result
        do {
            result = try locked(body)
        } catch {
            lock.unlock()
            throw error
        }
        lock.unlock()
        return result
    }

    private func locked<Result>(_ body: (inout FileStoreState, Int64) throws -> Result) throws -> Result {
        var state = try load()
        let before = (state.revision, state.nextLease, state.leases.mapValues(\.deadlineMilliseconds))
        let now = clock()
        _ = state.expireLeases(now: now)
        let result = try body(&state, now)
        if (state.revision, state.nextLease) != (before.0, before.1)
            || state.leases.mapValues(\.deadlineMilliseconds) != before.2
        {
            try save(state)
        }
        return result
    }

    /// Runs a transaction on its own thread: `flock` may block, and a blocked cooperative
    /// thread would stall unrelated tasks (a lease keep-alive, say).
    private func offloaded<Result: Sendable>(
        _ body: @escaping @Sendable (inout FileStoreState, Int64) throws -> Result
    ) async throws -> Result {
        try await BlockingThread.run { [self] in try transaction(body) }
    }

    private func load() throws -> FileStoreState {
        guard let bytes = try FileSystem.readFile(statePath), !bytes.isEmpty else { return FileStoreState() }
        do {
            return try JSONDecoder().decode(FileStoreState.self, from: Data(bytes))
        } catch {
            throw DatastoreError(.corrupted, "\(statePath): \(error)", endpoint: directory)
        }
    }

    private func save(_ state: FileStoreState) throws {
        let data: Data
        do { data = try JSONEncoder().encode(state) } catch {
            throw DatastoreError(.ioFailed, "cannot encode state: \(error)", endpoint: directory)
        }
        try FileSystem.writeAtomically(Array(data), to: statePath, directory: directory, synchronous: synchronousWrites)
    }

    private static func validate(_ key: String) throws {
        if key.isEmpty { throw DatastoreError(.invalidKey, "empty key") }
        if key.contains(where: \.isNewline) { throw DatastoreError(.invalidKey, "key contains a line break") }
    }

    public func get(_ key: String) async throws -> KeyValue? {
        try await offloaded { state, _ in state.keyValue(key) }
    }

    public func list(prefix: String) async throws -> Listing {
        try await offloaded { state, _ in
            let items = state.keys.filter { $0.key.hasPrefix(prefix) }
                .map { FileStoreState.keyValue($0.key, $0.value) }
                .sorted { $0.key < $1.key }
            return Listing(items: items, revision: state.revision)
        }
    }

    @discardableResult
    public func put(_ key: String, value: [UInt8], lease: LeaseID?) async throws -> Int64 {
        try Self.validate(key)
        return try await offloaded { state, now in
            try state.put(key, value, lease: lease, now: now)
            return state.revision
        }
    }

    @discardableResult
    public func delete(_ key: String) async throws -> Bool {
        try await offloaded { state, _ in state.delete(key) }
    }

    public func compareAndSwap(
        _ key: String, expecting condition: Condition, value: [UInt8]?, lease: LeaseID?
    ) async throws -> SwapResult {
        try Self.validate(key)
        return try await offloaded { state, now in
            let current = state.keyValue(key)
            let holds = switch condition {
            case .absent: current == nil
            case .modRevision(let revision): current?.modRevision == revision
            }
            guard holds else { return SwapResult(succeeded: false, revision: state.revision, current: current) }
            if let value {
                try state.put(key, value, lease: lease, now: now)
            } else {
                state.delete(key)
            }
            return SwapResult(succeeded: true, revision: state.revision, current: nil)
        }
    }

    /// The transaction runs under the lock like every operation and is saved with one state
    /// write (one write-temporary + fsync + rename), however many keys it writes.
    public func commit(_ transaction: DatastoreTransaction) async throws -> TransactionResult {
        try transaction.validate()
        return try await offloaded { state, _ in try state.commit(transaction) }
    }

    public func grantLease(ttlSeconds: Int64) async throws -> Lease {
        guard ttlSeconds > 0 else { throw DatastoreError(.invalidKey, "lease TTL must be positive") }
        return try await offloaded { state, now in state.grantLease(ttlSeconds: ttlSeconds, now: now) }
    }

    @discardableResult
    public func keepAlive(_ lease: LeaseID) async throws -> Int64 {
        try await offloaded { state, now in try state.keepAlive(lease, now: now) }
    }

    public func revokeLease(_ lease: LeaseID) async throws {
        try await offloaded { state, _ in try state.revokeLease(lease) }
    }

    public func watch(prefix: String, fromRevision revision: Int64?) -> AsyncThrowingStream<WatchEvent, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent.self)
        let interval = pollIntervalMilliseconds
        let task = Task { [self] in
            do {
                var next: Int64
                if let revision { next = revision } else { next = try await offloaded { state, _ in state.revision + 1 } }
                while !Task.isCancelled {
                    let from = next
                    let (events, current) = try await offloaded { state, _ in
                        (try state.events(from: from, prefix: prefix), state.revision)
                    }
                    for event in events { continuation.yield(event) }
                    next = max(next, current + 1)
                    try await Task.sleep(for: .milliseconds(interval))
                }
                continuation.finish()
            } catch is CancellationError {
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
