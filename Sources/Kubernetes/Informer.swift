import Logging

/// Options of an ``Informer``.
public struct InformerOptions: Sendable {
    /// The namespace to watch (nil: all namespaces, or a cluster-scoped resource).
    public var namespace: String?
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Watches ask the server to end after a random time in [`minWatchTimeout`,
    /// 2 × `minWatchTimeout`), which spreads reconnections (client-go: 5 minutes).
    public var minWatchTimeout: Duration
    /// Between failed list-and-watch rounds, and after a watch answered 429 or was refused.
    public var backoff: Backoff
    /// Page size of lists that read from storage (relists at a given or the latest version);
    /// nil reads everything at once. A list at version "0" is never paged, as in client-go.
    public var pageSize: Int?

    public init(
        namespace: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
        minWatchTimeout: Duration = .seconds(300), backoff: Backoff = .clientGo, pageSize: Int? = 500
    ) {
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.minWatchTimeout = minWatchTimeout
        self.backoff = backoff
        self.pageSize = pageSize
    }
}

/// Keeps a local cache of one resource in step with the API server, by client-go's
/// reflector rules:
///
/// - The first list asks for resource version `"0"` (any version the server has cached).
/// - It then watches from the list's version, with bookmarks and a random timeout in
///   [`minWatchTimeout`, 2 × `minWatchTimeout`); each event (and each bookmark) advances
///   the last seen version.
/// - A watch that ends normally (its timeout, or its connection closed) is started again from
///   the last seen version, without a list (after a back-off when it ended at once, empty).
/// - A 410 Expired (or "too large resource version") ends the round: the relist asks for the
///   last seen version, and for the latest (`""`) when that is unavailable too. The relist
///   replaces the cache and emits the additions, updates and deletions it implies.
/// - A watch answered 429 or refused backs off (jittered, capped) and watches again from
///   the same version, without a relist; other failures back off and relist.
///
/// ```swift
/// let informer = Informer(client: client, type: Node.self)
/// let events = await informer.events()
/// let task = Task { try await informer.run() }
/// try await informer.waitUntilSynced()
/// for await event in events { … }
/// ```
public actor Informer<Object: KubernetesObject> {
    public let client: KubernetesClient
    public let options: InformerOptions
    private let logger: Logger
    private var store = InformerStore<Object>()
    private var lastSyncResourceVersion = ""
    private var lastSyncResourceVersionUnavailable = false
    private var synced = false
    private var syncWaiters: [CheckedContinuation<Void, Never>] = []
    private var subscribers: [Int: AsyncStream<InformerEvent<Object>>.Continuation] = [:]
    private var nextSubscriber = 0
    private var roundBackoff: BackoffState
    private var watchBackoff: BackoffState
    /// How many lists this informer made (for tests and metrics).
    public private(set) var listCount = 0

    public init(client: KubernetesClient, type: Object.Type = Object.self, options: InformerOptions = InformerOptions(), logger: Logger? = nil) {
        self.client = client
        self.options = options
        self.logger = logger ?? Logger(label: "swiftcni.kubernetes.informer.\(Object.resourceType.plural)")
        roundBackoff = BackoffState(options.backoff)
        watchBackoff = BackoffState(options.backoff)
    }

    // MARK: Consumers

    /// A new stream of cache changes (every subscriber gets every event from now on).
    public func events() -> AsyncStream<InformerEvent<Object>> {
        let (stream, continuation) = AsyncStream.makeStream(of: InformerEvent<Object>.self)
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            Task { await self.unsubscribe(id) }
        }
        return stream
    }

    private func unsubscribe(_ id: Int) { subscribers[id] = nil }

    /// Whether the first list has been applied.
    public var hasSynced: Bool { synced }

    /// Returns once the first list has been applied to the cache.
    public func waitUntilSynced() async {
        if synced { return }
        await withCheckedContinuation { syncWaiters.append($0) }
    }

    /// One object of the cache.
    public func object(_ key: ObjectKey) -> Object? { store[key] }
    /// The whole cache.
    public func snapshot() -> [ObjectKey: Object] { store.objects }
    /// The version of the last list, event or bookmark seen.
    public var resourceVersion: String { lastSyncResourceVersion }

    // MARK: Running

    /// Lists and watches until the calling task is cancelled. Failures are logged and retried
    /// with back-off; only cancellation ends it.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await listAndWatch()
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                logger.warning("list and watch of \(Object.resourceType) failed: \(error)")
            }
            let delay = roundBackoff.delay()
            do { try await Task.sleep(for: delay) } catch { break }
        }
        for continuation in subscribers.values { continuation.finish() }
        subscribers = [:]
    }

    private func relistResourceVersion() -> String {
        if lastSyncResourceVersionUnavailable { return "" }
        return lastSyncResourceVersion.isEmpty ? "0" : lastSyncResourceVersion
    }

    private func listAndWatch() async throws {
        try await relist()
        while true {
            try Task.checkCancellation()
            let scale = 1 + Double.random(in: 0..<1)
            let timeout = max(1, Int((options.minWatchTimeout * scale) / .seconds(1)))
            let watchOptions = WatchOptions(
                labelSelector: options.labelSelector, fieldSelector: options.fieldSelector,
                resourceVersion: lastSyncResourceVersion, allowWatchBookmarks: true, timeoutSeconds: timeout)
            let stream: AsyncThrowingStream<WatchEvent<Object>, any Error>
            do {
                stream = try await client.watch(Object.self, namespace: options.namespace, options: watchOptions)
            } catch let error as KubernetesError where error.code == .connectionRefused || error.code == .tooManyRequests {
                logger.debug("watch of \(Object.resourceType): \(error); backing off")
                try await Task.sleep(for: watchBackoff.delay())
                continue
            }
            let started = ContinuousClock.now
            var received = 0
            do {
                for try await event in stream {
                    handle(event)
                    received += 1
                }
                // A normal end (the timeout, or the connection closed): watch again from the
                // last seen version. A watch that ended at once with nothing in it backs off
                // first, so that a server closing every watch is not hammered (client-go
                // relists then; a relist would not help and costs the server more).
                if received == 0 && ContinuousClock.now - started < .seconds(1) {
                    try await Task.sleep(for: watchBackoff.delay())
                }
            } catch let error as KubernetesError where error.requiresRelist {
                logger.debug("watch of \(Object.resourceType) from \(lastSyncResourceVersion): \(error); relisting")
                return
            } catch let error as KubernetesError where error.code == .tooManyRequests {
                try await Task.sleep(for: watchBackoff.delay())
            }
        }
    }

    private func relist() async throws {
        var list: ObjectList<Object>
        do {
            list = try await listPaged(resourceVersion: relistResourceVersion())
        } catch let error as KubernetesError where error.requiresRelist {
            lastSyncResourceVersionUnavailable = true
            list = try await listPaged(resourceVersion: relistResourceVersion())
        }
        lastSyncResourceVersionUnavailable = false
        listCount += 1
        publish(store.replace(with: list.items))
        lastSyncResourceVersion = list.resourceVersion
        if !synced {
            synced = true
            for waiter in syncWaiters { waiter.resume() }
            syncWaiters = []
        }
    }

    private func listPaged(resourceVersion: String) async throws -> ObjectList<Object> {
        var listOptions = ListOptions(
            labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, resourceVersion: resourceVersion)
        // As client-go: a list at "0" is served from the cache and not paged; a relist at a
        // given version is not paged either (so the server may answer from its cache).
        guard resourceVersion.isEmpty, let pageSize = options.pageSize else {
            return try await client.list(Object.self, namespace: options.namespace, options: listOptions)
        }
        listOptions.resourceVersion = nil
        return try await client.listAll(Object.self, namespace: options.namespace, options: listOptions, pageSize: pageSize)
    }

    private func handle(_ event: WatchEvent<Object>) {
        if let change = store.apply(event) { publish([change]) }
        if let version = event.resourceVersion, !version.isEmpty { lastSyncResourceVersion = version }
    }

    private func publish(_ changes: [InformerEvent<Object>]) {
        for change in changes {
            for continuation in subscribers.values { continuation.yield(change) }
        }
    }
}
