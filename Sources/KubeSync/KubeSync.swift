import Datastore
import Kubernetes
import Logging

/// Options of a ``KubeSync``.
public struct KubeSyncOptions: Sendable {
    /// A full planning round at least this often, even without a change.
    public var resyncInterval: Duration
    /// How often a round runs to publish advanced resource versions (bookmarks), and the least
    /// time between two writes of the store marker.
    public var markerInterval: Duration
    /// Node CIDR allocation (nil: nodes keep what they have).
    public var nodeCIDRs: NodeCIDRAllocator?
    /// The informers' options (their watch timeout and back-off).
    public var informer: InformerOptions

    public init(
        resyncInterval: Duration = .seconds(30), markerInterval: Duration = .seconds(1), nodeCIDRs: NodeCIDRAllocator? = nil,
        informer: InformerOptions = InformerOptions()
    ) {
        self.resyncInterval = resyncInterval
        self.markerInterval = markerInterval
        self.nodeCIDRs = nodeCIDRs
        self.informer = informer
    }
}

/// Mirrors the API's nodes, pods, namespaces and network policies into the Datastore keys the
/// agents read (``SyncPlanner``), with one informer per resource and a watch of the store (a
/// plugin replacing a pod record gets the pod's labels merged in again). Nothing is written
/// before every informer has listed once. Each round plans from the informers' caches and a
/// fresh read of the store, applies the operations in order with compare-and-swap (a conflict
/// ends the round and plans again), then publishes a ``KubeSyncStatus``.
///
/// ```swift
/// let sync = KubeSync(client: client, store: store) { status in status.write(toFile: path) }
/// try await sync.run()    // until cancelled
/// ```
public actor KubeSync {
    public let client: KubernetesClient
    public let store: any Datastore
    public let options: KubeSyncOptions
    private let logger: Logger
    private let statusHandler: @Sendable (KubeSyncStatus) -> Void
    private let nodes: Informer<Node>
    private let pods: Informer<Pod>
    private let namespaces: Informer<Namespace>
    private let policies: Informer<NetworkPolicy>
    private var status: KubeSyncStatus
    private var lastMarker: (versions: [String: String], at: ContinuousClock.Instant)?
    private var lastProblems: [KubeSyncError] = []
    /// The caches the last complete round applied, and whether the store changed since it
    /// listed: with neither changed, a round only publishes the versions (bookmarks).
    private var applied: Caches?
    private var storeChanged = true
    private var lastFullRound = ContinuousClock.now

    private struct Caches: Equatable {
        var nodes: [ObjectKey: Node]
        var pods: [ObjectKey: Pod]
        var namespaces: [ObjectKey: Namespace]
        var policies: [ObjectKey: NetworkPolicy]
    }

    public init(
        client: KubernetesClient, store: any Datastore, options: KubeSyncOptions = KubeSyncOptions(), logger: Logger? = nil,
        statusHandler: @escaping @Sendable (KubeSyncStatus) -> Void = { _ in }
    ) {
        self.client = client
        self.store = store
        self.options = options
        let logger = logger ?? Logger(label: "swiftcni.kube-sync")
        self.logger = logger
        self.statusHandler = statusHandler
        nodes = Informer(client: client, options: options.informer, logger: logger)
        pods = Informer(client: client, options: options.informer, logger: logger)
        namespaces = Informer(client: client, options: options.informer, logger: logger)
        policies = Informer(client: client, options: options.informer, logger: logger)
        status = KubeSyncStatus(server: client.server)
    }

    /// The last status published.
    public var currentStatus: KubeSyncStatus { status }

    /// Runs until the calling task is cancelled.
    public func run() async {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.nodes.run() }
            group.addTask { await self.pods.run() }
            group.addTask { await self.namespaces.run() }
            group.addTask { await self.policies.run() }
            let nodeEvents = await nodes.events()
            let podEvents = await pods.events()
            let namespaceEvents = await namespaces.events()
            let policyEvents = await policies.events()
            group.addTask { for await _ in nodeEvents { wake.yield() } }
            group.addTask { for await _ in podEvents { wake.yield() } }
            group.addTask { for await _ in namespaceEvents { wake.yield() } }
            group.addTask { for await _ in policyEvents { wake.yield() } }
            group.addTask { await self.watchStore(wake: wake) }
            let interval = min(options.markerInterval, options.resyncInterval)
            group.addTask {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { break }
                    wake.yield()
                }
            }
            group.addTask { await self.loop(wakes: wakes, wake: wake) }
            await group.next()
            group.cancelAll()
        }
        wake.finish()
    }

    private func loop(wakes: AsyncStream<Void>, wake: AsyncStream<Void>.Continuation) async {
        do {
            // Polled, not awaited: `waitUntilSynced` cannot be cancelled, and a sync that never
            // reaches the API must still stop on SIGTERM.
            while true {
                if await nodes.hasSynced, await pods.hasSynced, await namespaces.hasSynced, await policies.hasSynced { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            logger.info("every informer listed; mirroring into the store")
            try await round(wake: wake)
            for await _ in wakes {
                try Task.checkCancellation()
                try await Task.sleep(for: .milliseconds(10))  // coalesce a burst of events
                try await round(wake: wake)
            }
        } catch {}
    }

    /// One planning round; returns the plan it applied. Failures of the store are logged and
    /// retried at the next wake.
    @discardableResult
    func round(wake: AsyncStream<Void>.Continuation) async throws -> SyncPlan? {
        try Task.checkCancellation()
        // The versions first: the caches read after them are at least as new.
        let versions = [
            "nodes": await nodes.resourceVersion, "pods": await pods.resourceVersion,
            "namespaces": await namespaces.resourceVersion, "networkpolicies": await policies.resourceVersion,
        ]
        let caches = Caches(
            nodes: await nodes.snapshot(), pods: await pods.snapshot(), namespaces: await namespaces.snapshot(),
            policies: await policies.snapshot())
        let now = ContinuousClock.now
        if !storeChanged, caches == applied, now - lastFullRound < options.resyncInterval {
            try await publish(versions)
            return SyncPlan()
        }
        lastFullRound = now
        storeChanged = false
        applied = nil
        let cluster = ClusterView(
            nodes: Array(caches.nodes.values), pods: Array(caches.pods.values), namespaces: Array(caches.namespaces.values),
            networkPolicies: Array(caches.policies.values), resourceVersions: versions)
        do {
            if let allocator = options.nodeCIDRs { try await allocate(allocator, cluster.nodes) }
            var stored: [String: KeyValue] = [:]
            for prefix in SyncStoreView.prefixes {
                for item in try await store.list(prefix: prefix).items { stored[item.key] = item }
            }
            let plan = SyncPlanner.plan(cluster: cluster, store: stored)
            var complete = true
            for operation in plan.operations {
                let value: [UInt8]? = if case .put(let bytes) = operation.action { bytes } else { nil }
                guard try await store.compareAndSwap(operation.key, expecting: operation.expecting, value: value).succeeded else {
                    logger.debug("\(operation.key) changed while planning; planning again")
                    complete = false
                    wake.yield()
                    break
                }
                logger.debug("\(operation)")
                status.appliedOperations += 1
            }
            status.rounds += 1
            if plan.problems != lastProblems {
                for problem in plan.problems { logger.warning("\(problem)") }
                lastProblems = plan.problems
            }
            status.problems = plan.problems.map(\.description)
            if complete {
                applied = caches
                try await publish(versions)
            }
            return plan
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("sync round failed: \(error); retrying")
            return nil
        }
    }

    private func publish(_ versions: [String: String]) async throws {
        let changed = status.resourceVersions != versions || !status.synced
        status.resourceVersions = versions
        status.synced = true
        if changed { statusHandler(status) }
        let now = ContinuousClock.now
        if let last = lastMarker, last.versions == versions || now - last.at < options.markerInterval { return }
        var marker = status
        marker.problems = []
        _ = try await store.put(KeyLayout.kubernetesSyncMarker, value: marker.encoded())
        lastMarker = (versions, now)
    }

    private func allocate(_ allocator: NodeCIDRAllocator, _ nodes: [Node]) async throws {
        let (assignments, problems) = allocator.assignments(for: nodes)
        for problem in problems { logger.warning("\(problem)") }
        for (node, cidr) in assignments.sorted(by: { $0.key < $1.key }) {
            do {
                _ = try await client.patch(Node.self, name: node, patch: NodeCIDRAllocator.patch(cidr: cidr))
                logger.info("node \(node): podCIDR \(cidr)")
            } catch let error as KubernetesError where error.code == .notFound {
                continue
            }
        }
    }

    /// Wakes the loop on every store change that can change the plan; re-watches from a fresh
    /// listing when the watch fails (a compaction, the store restarting).
    private func watchStore(wake: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do {
                let revision = try await store.list(prefix: KeyLayout.kubernetesSyncMarker).revision
                wake.yield()
                storeChanged = true
                for try await event in store.watch(prefix: KeyLayout.root + "/", fromRevision: revision + 1)
                where SyncStoreView.isRelevant(event.keyValue.key) {
                    storeChanged = true
                    wake.yield()
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("store watch ended: \(error); watching again")
            }
            do { try await Task.sleep(for: .milliseconds(500)) } catch { return }
        }
    }
}
