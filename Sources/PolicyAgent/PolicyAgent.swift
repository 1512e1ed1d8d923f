import Datastore
import Logging
import Namespaces
import Netlink
import NetPrimitives
import Nftables
import Policy
import PolicyEnforcement

/// Enforces, for one node's pods, the policies and labels stored in the Datastore: reads
/// policies, pod records and labels under `/swiftcni/`, drives a `PolicyEnforcer` (PolicyEnforcement library)
/// (table `inet swiftcni_policy`) in the node's network namespace, and follows a watch:
/// policy changes recompile, pod and label changes upsert or remove single endpoints. A full
/// relist and reconcile happens on start, after a watch failure and every `resyncInterval`.
///
/// ```swift
/// let agent = PolicyAgent(store: try StoreLocation.open("file:/var/lib/swiftcni"),
///                         node: "node-1", namespace: try NetworkNamespace.current())
/// try await agent.run()   // until the task is cancelled
/// ```
public actor PolicyAgent {
    public let store: any Datastore
    public let node: String
    public let namespace: NetworkNamespace
    public let localAddresses: [IPAddress]
    public let resyncInterval: Duration
    private let logger: Logger
    private var enforcer: PolicyEnforcer?
    private var snapshot = PolicySnapshot()
    private var netlink: NetlinkHandle?
    /// How many times the enforcer's program changed (reconciles plus non-empty updates).
    public private(set) var appliedUpdates = 0
    /// The store revision the kernel reflects: every change up to it is enforced (the last
    /// listing's revision, then each handled watch event's).
    public private(set) var appliedRevision: Int64 = 0
    private let statusHandler: (@Sendable (PolicyAgentStatus) -> Void)?

    /// - Parameters:
    ///   - store: the Datastore holding policies, pod records and labels.
    ///   - node: the node whose pods are enforced (the pod records' `node`).
    ///   - namespace: the node's network namespace (where the pods' host interfaces are).
    ///   - localAddresses: this node's addresses (traffic from them to its pods is allowed).
    ///   - resyncInterval: how often the whole store is listed and reconciled again.
    ///   - logger: where reconciles, updates and skipped records are logged.
    ///   - statusHandler: called after every change of ``appliedRevision`` (e.g.
    ///     ``PolicyAgentStatus/write(toFile:)``, so a tool can wait until a change is enforced).
    public init(
        store: any Datastore, node: String, namespace: NetworkNamespace, localAddresses: [IPAddress] = [],
        resyncInterval: Duration = .seconds(30), logger: Logger = Logger(label: "swiftcni.policy-agent"),
        statusHandler: (@Sendable (PolicyAgentStatus) -> Void)? = nil
    ) {
        self.statusHandler = statusHandler
        self.store = store
        self.node = node
        self.namespace = namespace
        self.localAddresses = localAddresses
        self.resyncInterval = resyncInterval
        self.logger = logger
    }

    /// The enforcer, once the first reconcile happened.
    public var currentEnforcer: PolicyEnforcer? { enforcer }

    /// Runs until cancelled: list, reconcile, watch; on any failure, logs and starts over after
    /// a second. The nftables table stays in place when it returns (a restart adopts it).
    public func run() async {
        while !Task.isCancelled {
            do {
                try await session()
            } catch is CancellationError {
                return
            } catch {
                logger.warning("policy agent restarting: \(error)")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Lists the store and makes the kernel match it; returns the listing's revision.
    @discardableResult
    public func synchronize() async throws -> Int64 {
        let listing: Listing
        do { listing = try await store.list(prefix: KeyLayout.root + "/") } catch {
            throw PolicyAgentError(.datastore, "listing \(KeyLayout.root)/ failed", underlying: "\(error)")
        }
        snapshot = PolicySnapshot(listing.items)
        let (policies, cluster) = desiredState()
        do {
            if let enforcer {
                if try enforcer.update(policies: policies, cluster: cluster).kind != .unchanged { appliedUpdates += 1 }
            } else {
                let handle = try NftablesHandle(namespace: namespace)
                let created = PolicyEnforcer(handle: handle, policies: policies, cluster: cluster, node: node)
                try created.reconcile()
                enforcer = created
                appliedUpdates += 1
            }
        } catch {
            throw PolicyAgentError(.enforcement, "reconcile failed", underlying: "\(error)")
        }
        logger.info("policy reconciled", metadata: [
            "revision": "\(listing.revision)", "policies": "\(policies.networkPolicies.count + policies.calicoPolicies.count)",
            "endpoints": "\(cluster.endpoints.count)",
        ])
        publish(revision: listing.revision)
        return listing.revision
    }

    private func session() async throws {
        let revision = try await synchronize()
        let events = store.watch(prefix: KeyLayout.root + "/", fromRevision: revision + 1)
        let deadline = ContinuousClock.now + resyncInterval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Task.sleep(until: deadline) }
            group.addTask { [self] in
                for try await event in events {
                    try await self.handle(event)
                    await self.publish(revision: event.revision)
                }
                throw PolicyAgentError(.datastore, "the watch ended")
            }
            // Either the resync timer fired (start over) or the watch failed (rethrown).
            try await group.next()
            group.cancelAll()
        }
    }

    private func handle(_ event: WatchEvent) throws {
        guard snapshot.apply(event), let enforcer else { return }
        let (policies, cluster) = desiredState()
        do {
            if policies != enforcer.policies || cluster.nodes != enforcer.cluster.nodes {
                let update = try enforcer.update(policies: policies, cluster: cluster)
                if update.kind != .unchanged { appliedUpdates += 1 }
                logger.debug("policy update", metadata: ["key": "\(event.keyValue.key)", "kind": "\(update.kind)"])
                return
            }
            let old = enforcer.cluster
            for endpoint in old.endpoints where cluster[endpoint.id] == nil {
                if try enforcer.remove(endpoint.id).kind != .unchanged { appliedUpdates += 1 }
            }
            for endpoint in cluster.endpoints where old[endpoint.id] != endpoint {
                // An address moving between pods would collide on the way: fall back to a full update.
                do {
                    if try enforcer.upsert(endpoint).kind != .unchanged { appliedUpdates += 1 }
                } catch {
                    if try enforcer.update(policies: policies, cluster: cluster).kind != .unchanged { appliedUpdates += 1 }
                    return
                }
            }
        } catch {
            throw PolicyAgentError(.enforcement, "applying \(event.keyValue.key) failed", underlying: "\(error)")
        }
    }

    private func publish(revision: Int64) {
        guard revision > appliedRevision else { return }
        appliedRevision = revision
        statusHandler?(PolicyAgentStatus(node: node, revision: revision, appliedUpdates: appliedUpdates))
    }

    /// The policies and cluster the store describes now (malformed records logged and skipped).
    private func desiredState() -> (PolicySet, ClusterState) {
        let (policies, policyErrors) = snapshot.policies()
        let routes = hostRoutes()
        let (cluster, clusterErrors) = snapshot.cluster(node: node, localAddresses: localAddresses) { record in
            record.addresses.lazy.compactMap { IPAddress($0) ?? IPNetwork($0).map(\.address) }
                .compactMap { routes[$0] }.first
        }
        for error in policyErrors + clusterErrors { logger.warning("\(error)") }
        return (policies, cluster)
    }

    /// Host routes (/32, /128) and their device in the node namespace: how a pod whose record
    /// names no host interface is found (routed veths: `cali…`).
    private func hostRoutes() -> [IPAddress: InterfaceName] {
        do {
            if netlink == nil { netlink = try NetlinkHandle(namespace: namespace) }
            var result: [IPAddress: InterfaceName] = [:]
            for route in try netlink!.routes() where route.destination.prefixLength == route.destination.address.family.bitWidth {
                if let device = route.nextHops.first?.device { result[route.destination.address] = device }
            }
            return result
        } catch {
            logger.warning("reading host routes failed: \(error)")
            return [:]
        }
    }
}
