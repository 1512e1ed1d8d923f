import Datastore
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

/// Informer behaviour asserted from the fixture's request log.
@Suite("Informer (client-go reflector rules)")
struct InformerTests {
    static let fastBackoff = Backoff(initial: .milliseconds(50), cap: .milliseconds(400), factor: 2, jitter: 1, resetAfter: .seconds(60))

    static func pod(_ name: String, namespace: String = "default", labels: [String: String] = [:]) -> JSONObject {
        var object = Pod(name: name, namespace: namespace)
        object.labels = labels
        object.json["spec"] = ["containers": [["name": "c", "image": "busybox"]]]
        return object.json
    }

    /// Starts an informer and collects its events; `body` gets both; the informer stops after.
    static func withInformer<T: Sendable>(
        _ cluster: TestCluster, namespace: String? = "default", _ body: @Sendable (Informer<Pod>, EventLog) async throws -> T
    ) async throws -> T {
        let informer = Informer(
            client: try cluster.client(), type: Pod.self,
            options: InformerOptions(namespace: namespace, minWatchTimeout: .seconds(60), backoff: fastBackoff, pageSize: 2))
        let log = EventLog()
        let events = await informer.events()
        let collector = Task { for await event in events { await log.append(event) } }
        let runner = Task { await informer.run() }
        defer {
            runner.cancel()
            collector.cancel()
        }
        await informer.waitUntilSynced()
        return try await body(informer, log)
    }

    @Test func listsAtZeroThenWatchesFromTheListsVersionWithBookmarks() async throws {
        try await withTimeout(.seconds(60), "the first list and watch") {
            try await TestCluster.with { cluster in
                for name in ["a", "b"] { _ = try await cluster.fixture.create(.pods, namespace: "default", object: Self.pod(name)) }
                let revision = try await cluster.store.list(prefix: "/none").revision
                try await Self.withInformer(cluster) { informer, _ in
                    try await waitUntil("the watch starts") { cluster.fixture.requests().count >= 2 }
                    let log = cluster.fixture.requests()
                    #expect(log[0].path == "/api/v1/namespaces/default/pods")
                    #expect(!log[0].isWatch)
                    #expect(log[0].query["resourceVersion"] == "0")
                    #expect(log[0].query["limit"] == nil)
                    #expect(log[1].isWatch)
                    #expect(log[1].query["resourceVersion"] == String(revision))
                    #expect(log[1].query["allowWatchBookmarks"] == "true")
                    let timeout = Int(log[1].query["timeoutSeconds"] ?? "") ?? 0
                    #expect((60..<120).contains(timeout))
                    #expect(Set(await informer.snapshot().keys.map(\.description)) == ["default/a", "default/b"])
                }
            }
        }
    }

    @Test func bookmarkAdvancesTheVersionTheNextWatchStartsFrom() async throws {
        try await withTimeout(.seconds(60), "bookmarks") {
            try await TestCluster.with(bookmarkInterval: .milliseconds(100)) { cluster in
                try await Self.withInformer(cluster) { informer, events in
                    let before = await informer.resourceVersion
                    // changes to another resource move the store's revision, never the pods
                    _ = try await cluster.fixture.create(.namespaces, object: Namespace(name: "other").json)
                    let after = try await cluster.store.list(prefix: "/none").revision
                    #expect(Int64(before)! < after)
                    try await waitUntil("a bookmark brings the informer to \(after)") { await informer.resourceVersion == String(after) }
                    #expect(await events.all().isEmpty)
                    cluster.fixture.clearRequestLog()
                    await cluster.fixture.dropWatches()
                    try await waitUntil("the informer watches again") { cluster.fixture.requests().contains { $0.isWatch } }
                    let rewatch = cluster.fixture.requests().first { $0.isWatch }!
                    #expect(rewatch.query["resourceVersion"] == String(after))
                    #expect(!cluster.fixture.requests().contains { !$0.isWatch }, "no relist after a dropped watch")
                }
            }
        }
    }

    @Test func expiredWatchRelistsAndEmitsExactlyTheMissedChanges() async throws {
        try await withTimeout(.seconds(60), "the relist after 410") {
            try await TestCluster.with { cluster in
                for name in ["a", "b", "c"] { _ = try await cluster.fixture.create(.pods, namespace: "default", object: Self.pod(name)) }
                try await Self.withInformer(cluster) { informer, events in
                    try await waitUntil("the watch starts") { await cluster.fixture.openWatches() == 1 }
                    let lastSeen = await informer.resourceVersion
                    await events.clear()
                    // keep the informer off the server while things change, then compact them away
                    cluster.fixture.rejectNextRequests(1_000_000)
                    await cluster.fixture.dropWatches()
                    try await cluster.fixture.delete(.pods, namespace: "default", name: "a")
                    try await cluster.fixture.delete(.pods, namespace: "default", name: "b")
                    _ = try await cluster.fixture.create(.pods, namespace: "default", object: Self.pod("d"))
                    _ = try await cluster.fixture.create(.pods, namespace: "default", object: Self.pod("e"))
                    let final = try await cluster.store.list(prefix: "/none").revision
                    try await waitUntil("the cache has every change") { await cluster.fixture.cachedRevision() >= final }
                    await cluster.fixture.compact()
                    try await Task.sleep(for: .milliseconds(200))
                    #expect(!cluster.fixture.requests().dropFirst(2).contains { !$0.isWatch }, "429s lead to no relist")
                    cluster.fixture.clearRequestLog()
                    cluster.fixture.rejectNextRequests(0)
                    try await waitUntil("the informer relists") {
                        let cached = await informer.snapshot().count
                        let emitted = await events.all().count
                        return cached == 3 && emitted == 4
                    }
                    let log = cluster.fixture.requests()
                    let lists = log.filter { !$0.isWatch }
                    #expect(lists.count == 1)
                    #expect(lists.first?.query["resourceVersion"] == lastSeen, "the relist asks for the last seen version")
                    #expect(log.first?.isWatch == true && log.first?.query["resourceVersion"] == lastSeen)
                    let summary = await events.summary()
                    #expect(summary.sorted() == ["+default/d", "+default/e", "-default/a", "-default/b"])
                    #expect(Set(await informer.snapshot().keys.map(\.description)) == ["default/c", "default/d", "default/e"])
                }
            }
        }
    }

    @Test func tooManyRequestsBacksOffWithoutRelisting() async throws {
        try await withTimeout(.seconds(60), "the 429 back-off") {
            try await TestCluster.with { cluster in
                try await Self.withInformer(cluster) { informer, _ in
                    try await waitUntil("the watch starts") { await cluster.fixture.openWatches() == 1 }
                    cluster.fixture.clearRequestLog()
                    cluster.fixture.rejectNextRequests(4)
                    await cluster.fixture.dropWatches()
                    try await waitUntil("the informer watches again") { cluster.fixture.requests().contains { $0.status == 200 } }
                    let log = cluster.fixture.requests()
                    #expect(log.allSatisfy { $0.isWatch }, "no list: \(log)")
                    #expect(log.map(\.status) == [429, 429, 429, 429, 200])
                    let gaps = zip(log.dropFirst(), log).map { $0.at - $1.at }
                    #expect(gaps.allSatisfy { $0 >= .milliseconds(45) }, "each retry waits the back-off: \(gaps)")
                    #expect(gaps[2] >= .milliseconds(190), "the back-off grows: \(gaps)")
                    #expect(await informer.listCount == 1)
                }
            }
        }
    }

    @Test func hundredRandomChangesLeaveTheCacheEqualToAFreshList() async throws {
        try await withTimeout(.seconds(120), "100 random changes") {
            try await TestCluster.with { cluster in
                for namespace in ["blue"] { _ = try await cluster.fixture.create(.namespaces, object: Namespace(name: namespace).json) }
                try await Self.withInformer(cluster, namespace: nil) { informer, events in
                    let client = try cluster.client()
                    var generator = SplitMix64(seed: 20)
                    var live: [ObjectKey] = []
                    for step in 0..<100 {
                        let choice = Int.random(in: 0..<10, using: &generator)
                        if live.isEmpty || choice < 4 {
                            let namespace = Bool.random(using: &generator) ? "default" : "blue"
                            let name = "p\(step)"
                            _ = try await client.create(Pod(json: Self.pod(name, namespace: namespace)))
                            live.append(ObjectKey(namespace: namespace, name: name))
                        } else if choice < 8 {
                            let key = live.randomElement(using: &generator)!
                            _ = try await client.patch(
                                Pod.self, name: key.name, namespace: key.namespace,
                                patch: ["metadata": ["labels": ["step": .string(String(step))]]], type: .strategicMerge)
                        } else {
                            let index = Int.random(in: 0..<live.count, using: &generator)
                            let key = live.remove(at: index)
                            try await client.delete(Pod.self, name: key.name, namespace: key.namespace)
                        }
                        if step == 40 { await cluster.fixture.dropWatches() }
                        if step == 70 { await cluster.fixture.compact() }
                    }
                    let fresh = try await client.list(Pod.self)
                    let expected = Dictionary(uniqueKeysWithValues: fresh.items.map { ($0.key, $0.resourceVersion ?? "") })
                    try await waitUntil("the cache equals a fresh list") {
                        await informer.snapshot().mapValues { $0.resourceVersion ?? "" } == expected
                    }
                    #expect(Set(expected.keys) == Set(live))
                    // the event stream tells the same story as the cache
                    var replayed: [ObjectKey: String] = [:]
                    for event in await events.all() {
                        switch event {
                        case .added(let object), .updated(_, let object): replayed[object.key] = object.resourceVersion ?? ""
                        case .deleted(let object): replayed[object.key] = nil
                        }
                    }
                    #expect(replayed == expected)
                }
            }
        }
    }
}

/// The events an informer emitted, in order.
actor EventLog {
    private var events: [InformerEvent<Pod>] = []
    func append(_ event: InformerEvent<Pod>) { events.append(event) }
    func all() -> [InformerEvent<Pod>] { events }
    func clear() { events = [] }
    func summary() -> [String] {
        events.map { event in
            switch event {
            case .added(let object): "+\(object.key)"
            case .updated(_, let object): "~\(object.key)"
            case .deleted(let object): "-\(object.key)"
            }
        }
    }
}
