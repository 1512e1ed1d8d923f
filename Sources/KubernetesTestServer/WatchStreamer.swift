import Kubernetes

/// Writes one watch: the replayed and live changes that match its selection, bookmarks when
/// asked for (as kube-apiserver 1.20: one, 2 s before the watch's timeout; or, as a test-only
/// control, one every `bookmarkInterval` and one at the end), until its timeout (a normal end) or until the fixture drops it (the connection
/// closes without the final chunk, as when a server goes away).
struct WatchStreamer: Sendable {
    enum End: Sendable { case normally, dropped }

    let cache: WatchCache
    let selection: Selection
    /// Synthetic ADDED events first (a watch from "0" or without a version).
    let initial: [JSONObject]
    let replay: [ObjectChange]
    let live: AsyncStream<WatchSignal>
    let subscription: Int
    let after: Int64
    let allowBookmarks: Bool
    let timeout: Duration
    let bookmarkInterval: Duration?
    /// An error to send as the only event (410 for a compacted version).
    let failure: APIError?

    private enum Step: Sendable {
        case signal(WatchSignal)
        case liveEnded
        case tick
        case timeout
    }

    func run(write: (_ line: [UInt8]) async throws -> Void) async -> End {
        defer { Task { [cache, subscription] in await cache.unsubscribe(subscription) } }
        var sent = after
        if let failure {
            do { try await write(Self.errorLine(failure)) } catch { return .dropped }
            return .normally
        }
        do {
            for object in initial { try await write(Self.line("ADDED", object)) }
            for change in replay { if let line = render(change) { try await write(line) }; sent = max(sent, change.revision) }
        } catch {
            return .dropped
        }
        let (steps, continuation) = AsyncStream.makeStream(of: Step.self)
        let feeder = Task { [live] in
            for await signal in live { continuation.yield(.signal(signal)) }
            continuation.yield(.liveEnded)
        }
        let ticker = Task { [allowBookmarks, bookmarkInterval, timeout] in
            guard allowBookmarks else { return }
            if let bookmarkInterval {
                while !Task.isCancelled {
                    try? await Task.sleep(for: bookmarkInterval)
                    continuation.yield(.tick)
                }
            } else if timeout > .seconds(2) {
                try? await Task.sleep(for: timeout - .seconds(2))
                if !Task.isCancelled { continuation.yield(.tick) }
            }
        }
        let timer = Task { [timeout] in
            try? await Task.sleep(for: timeout)
            continuation.yield(.timeout)
        }
        defer {
            feeder.cancel()
            ticker.cancel()
            timer.cancel()
            continuation.finish()
        }
        do {
            for await step in steps {
                switch step {
                case .signal(.change(let change)):
                    if change.revision <= after { continue }
                    if let line = render(change) { try await write(line) }
                    sent = max(sent, change.revision)
                case .signal(.progress(let revision)):
                    if allowBookmarks { try await write(bookmark(max(sent, revision))) }
                case .tick:
                    let revision = await cache.revision
                    try await write(bookmark(max(sent, revision)))
                case .liveEnded:
                    return .dropped
                case .timeout:
                    let revision = await cache.revision
                    if allowBookmarks && bookmarkInterval != nil { try await write(bookmark(max(sent, revision))) }
                    return .normally
                }
            }
        } catch {
            return .dropped
        }
        return .normally
    }

    /// The event a change is for this watch: objects entering the selection are ADDED,
    /// leaving it DELETED, as kube-apiserver's watch cache filters.
    func render(_ change: ObjectChange) -> [UInt8]? {
        guard change.resource == selection.resource.plural else { return nil }
        let now = selection.matches(change.object)
        let before = change.previous.map(selection.matches) ?? false
        switch change.kind {
        case .added: return now ? Self.line("ADDED", change.object) : nil
        case .modified:
            if now && before { return Self.line("MODIFIED", change.object) }
            if now { return Self.line("ADDED", change.object) }
            // Leaving the selection: the object as it was (the last state that matched), at
            // the change's version, as kube-apiserver's watch cache sends it.
            if before, let previous = change.previous {
                return Self.line("DELETED", WatchCache.versioned(previous, change.revision))
            }
            return nil
        case .deleted: return before ? Self.line("DELETED", change.object) : nil
        }
    }

    func bookmark(_ revision: Int64) -> [UInt8] {
        Self.line("BOOKMARK", Defaults.bookmarkObject(selection.resource, revision: revision))
    }

    static func line(_ type: String, _ object: JSONObject) -> [UInt8] {
        JSONValue.object(["type": .string(type), "object": .object(object)]).encoded() + [UInt8(ascii: "\n")]
    }

    /// The ERROR event a watch sends when it cannot start (410 for a compacted version).
    static func errorLine(_ error: APIError) -> [UInt8] { line("ERROR", error.status.json) }
}
