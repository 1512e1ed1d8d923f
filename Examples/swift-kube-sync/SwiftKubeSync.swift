import AgentHTTP
import ArgumentParser
import Datastore
import Foundation
import KubeSync
import Kubernetes
import Logging
import Metrics
import ServiceLifecycle

/// swift-kube-sync: the cluster's nodes, pods, namespaces and network policies from the
/// Kubernetes API, mirrored into the Datastore keys swift-cni's agents read (the library
/// KubeSync does the work; this command assembles it).
@main
struct SwiftKubeSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-kube-sync",
        abstract: "Mirror Kubernetes nodes, pods, namespaces and NetworkPolicies into the swift-cni Datastore.",
        discussion: """
            Watches the API (informers: list at 0, watch with bookmarks, relist on 410) and writes \
            /swiftcni/nodes/, /swiftcni/pods/, /swiftcni/labels/namespace/_cluster/ and \
            /swiftcni/policies/k8s/ for the policy agent, swift-calico-node and swift-canald. It marks \
            what it writes and never changes or deletes what a plugin, an agent or cnilab wrote. \
            /swiftcni/sync/kubernetes/versions records the API versions and resource versions mirrored. \
            With --allocate-node-cidrs it gives nodes without spec.podCIDR one from --cluster-cidr. \
            SIGTERM stops it; the store keeps what was mirrored.
            """)

    @Option(help: "The kubeconfig (default: $KUBECONFIG, else the in-cluster service account).")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context (default: its current context).")
    var context: String?

    @Option(help: "The store: file:DIR or etcd:URL[,URL...].")
    var store: String

    @Flag(help: "Give nodes without spec.podCIDR a CIDR from --cluster-cidr (for clusters without a controller-manager).")
    var allocateNodeCidrs = false

    @Option(help: "The cluster's pod CIDR nodes' CIDRs are taken from (with --allocate-node-cidrs).")
    var clusterCidr: String?

    @Option(help: "The prefix length of each node's CIDR (with --allocate-node-cidrs).")
    var nodeCidrMaskSize = 24

    @Option(help: "Serve /healthz (ready once every informer listed and the store was written) and /metrics on ADDR:PORT.")
    var listen: String?

    @Option(help: "File to keep the status in (JSON: the resource versions mirrored; rewritten after every change).")
    var statusFile: String?

    @Option(help: "Seconds between full planning rounds without a change.")
    var resyncInterval = 30

    @Option(help: "Milliseconds between status rounds (resource versions advanced by bookmarks) and between marker writes.")
    var markerIntervalMilliseconds = 1_000

    func validate() throws {
        guard store.hasPrefix("file:") || store.hasPrefix("etcd:") else {
            throw ValidationError("--store must be file:DIR or etcd:URL[,URL...]")
        }
        if allocateNodeCidrs {
            guard let clusterCidr else { throw ValidationError("--allocate-node-cidrs needs --cluster-cidr") }
            do { _ = try NodeCIDRAllocator(clusterCIDR: clusterCidr, maskSize: nodeCidrMaskSize) } catch {
                throw ValidationError(error.message)
            }
        } else if clusterCidr != nil {
            throw ValidationError("--cluster-cidr is used only with --allocate-node-cidrs")
        }
        guard resyncInterval >= 1 else { throw ValidationError("--resync-interval must be at least 1 second") }
        guard markerIntervalMilliseconds >= 10 else { throw ValidationError("--marker-interval-milliseconds must be at least 10") }
        if let listen {
            do { _ = try ListenAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error.message)") }
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let metrics = PrometheusExposition()
        MetricsSystem.bootstrap(metrics.factory)
        let logger = Logger(label: "swift-kube-sync")
        let environment = ProcessInfo.processInfo.environment
        let clientConfiguration: ClientConfiguration
        if let path = kubeconfig ?? environment["KUBECONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            clientConfiguration = try Kubeconfig(contentsOf: path).configuration(context: context)
        } else {
            clientConfiguration = try ClientConfiguration.inCluster(environment: environment)
        }
        let client = try KubernetesClient(configuration: clientConfiguration)
        let allocator = try allocateNodeCidrs ? NodeCIDRAllocator(clusterCIDR: clusterCidr!, maskSize: nodeCidrMaskSize) : nil
        let status = SyncStatusEndpoint()
        let statusFile = self.statusFile
        let sync = KubeSync(
            client: client, store: try StoreLocation.open(store),
            options: KubeSyncOptions(
                resyncInterval: .seconds(resyncInterval), markerInterval: .milliseconds(markerIntervalMilliseconds),
                nodeCIDRs: allocator),
            logger: logger
        ) { snapshot in
            status.record(snapshot)
            if let statusFile { snapshot.write(toFile: statusFile) }
        }
        logger.info("mirroring \(client.server) into \(store)")
        let endpoint = try listen.map { [status.server(listen: try ListenAddress(parsing: $0), metrics: metrics, logger: logger)] } ?? []
        let group = ServiceGroup(
            configuration: .init(
                services: endpoint.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                    .init(service: KubeSyncService(sync: sync))
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// The sync as a ServiceLifecycle service: runs until graceful shutdown.
struct KubeSyncService: Service {
    let sync: KubeSync

    func run() async throws {
        try await cancelWhenGracefulShutdown { await sync.run() }
    }
}
