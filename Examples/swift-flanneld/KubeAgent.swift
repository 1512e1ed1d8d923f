import AgentHTTP
import Foundation
import IPAM
import Kubernetes
import Logging
import Metrics
import Namespaces
import Netlink
import Routing
import Nftables
import NetPrimitives
import ServiceLifecycle
import VXLAN

/// `--kube-subnet-mgr`: the agent takes its subnet from its Node's `spec.podCIDR(s)` instead
/// of leasing one in a store, publishes its lease as flannel's node annotations, sets the
/// NodeNetworkUnavailable condition False, and learns its peers from the other Nodes'
/// annotations (so flannel daemons and swift-flanneld can share a cluster). A restart reuses
/// the VTEP MAC of the node's `backend-data` annotation.
struct KubeAgent: Service {
    struct Settings: Sendable {
        var node: String
        /// The underlay interface and address autodetection chose (``UnderlayDetection``).
        var underlay: UnderlayChoice
        /// nil: the in-cluster service account.
        var kubeconfig: String?
        var netConfigPath: String
        var annotationPrefix: String
        var subnetFile: String
        var ipMasquerade: Bool
        var setNodeNetworkUnavailable: Bool
        var resyncSeconds: Int
    }

    let settings: Settings
    let status: AgentHealth
    let logger: Logger

    let reconciles = Counter(label: "flannel_reconciles_total")
    let reconcileErrors = Counter(label: "flannel_reconcile_errors_total")
    let changes = Counter(label: "flannel_dataplane_changes_total")
    let peers = Gauge(label: "flannel_remote_nodes")

    func run() async throws {
        let (configuration, backend) = try NetworkConfigFile.load(settings.netConfigPath)
        let manager = KubeSubnetManager(annotations: try FlannelAnnotations(prefix: settings.annotationPrefix))
        let client = try KubernetesClient(configuration: try clientConfiguration())

        // The own node, once it has a pod CIDR (the controller-manager, or whoever allocates
        // node CIDRs, may not have got to it yet).
        var node = try await waitForPodCIDR(client, manager)
        guard let subnet = try manager.subnet(of: node) else { throw AgentError(.failed, "node \(settings.node) has no IPv4 pod CIDR") }
        guard configuration.Network.network.contains(subnet) else {
            throw AgentError(.invalidConfiguration, "Network \(configuration.Network) of \(settings.netConfigPath) does not contain \(subnet), the pod CIDR of node \(settings.node)")
        }

        let handle = try NetlinkHandle(namespace: NetworkNamespace.current())
        let underlay = settings.underlay
        let underlayAddress = underlay.address
        // The pod MTU: the interface's minus the encapsulation (the VTEP's MTU with vxlan).
        var mtu = underlay.podMTU(.none)
        let lease: PublishedLease
        switch backend.kind {
        case .vxlan:
            var vtep = try VTEPDevice(
                identifier: backend.identifier, port: backend.port, nodeName: settings.node, subnet: subnet,
                underlayDevice: underlay.interface, underlayAddress: underlayAddress.address, underlayMTU: underlay.mtu)
            vtep.macAddress = manager.storedVTEPMAC(of: node)
            let state = try vtep.ensure(handle: handle)
            mtu = state.mtu
            lease = PublishedLease(
                backendType: backend.kind.rawValue,
                backendData: PublishedLease.vxlanBackendData(identifier: backend.identifier, vtepMAC: state.macAddress),
                publicIP: underlay.publicAddress)
        case .hostGateway:
            lease = PublishedLease(backendType: backend.kind.rawValue, backendData: "null", publicIP: underlay.publicAddress)
        }
        if let patch = manager.annotationPatch(for: node, lease: lease) {
            node = try await retrying("annotating node \(settings.node)") {
                try await client.patch(Node.self, name: settings.node, patch: patch, type: .strategicMerge, subresource: "status")
            }
            logger.info("published the lease as node annotations", metadata: ["backendData": "\(lease.backendData)"])
        }
        logger.info("subnet from the node's pod CIDR", metadata: ["subnet": "\(subnet)", "backend": "\(backend.kind.rawValue)"])

        try? handle.setIPForwarding(true)
        if settings.ipMasquerade {
            try Masquerade.ensure(network: configuration.Network, handle: try NftablesHandle(namespace: NetworkNamespace.current()))
        }
        try SubnetEnvironment(network: configuration.Network, subnet: subnet, mtu: mtu, ipMasquerade: settings.ipMasquerade)
            .write(to: settings.subnetFile)

        let dataPath = DataPath(
            backend: backend, handle: handle, underlayDevice: underlay.interface, underlayNetwork: underlayAddress.network,
            localSubnet: subnet)
        let informer = Informer(client: client, type: Node.self, logger: logger)
        let events = await informer.events()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await informer.run() }
            await informer.waitUntilSynced()
            await reconcile(informer, manager: manager, dataPath: dataPath, backendType: lease.backendType)
            if settings.setNodeNetworkUnavailable {
                let now = Date.now.formatted(.iso8601)
                _ = try await retrying("setting NetworkUnavailable=False on node \(settings.node)") {
                    try await client.patch(
                        Node.self, name: settings.node, patch: KubeSubnetManager.networkAvailablePatch(time: now), type: .strategicMerge,
                        subresource: "status")
                }
            }
            status.update(ready: true, detail: "subnet \(subnet)")
            group.addTask {
                for await _ in events.cancelOnGracefulShutdown() {
                    await reconcile(informer, manager: manager, dataPath: dataPath, backendType: lease.backendType)
                }
            }
            group.addTask {
                // Periodic resync: repairs manual changes to the data path.
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: .seconds(settings.resyncSeconds))
                    await reconcile(informer, manager: manager, dataPath: dataPath, backendType: lease.backendType)
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        logger.info("stopping; the data path and the node annotations stay in place")
    }

    /// The kubeconfig's current context, or the pod's service account.
    func clientConfiguration() throws -> ClientConfiguration {
        do {
            if let path = settings.kubeconfig { return try Kubeconfig(contentsOf: path).configuration() }
            return try ClientConfiguration.inCluster(environment: ProcessInfo.processInfo.environment)
        } catch let error as KubernetesError {
            throw AgentError(.invalidConfiguration, "Kubernetes client configuration: \(error.message)")
        }
    }

    /// Reads the own Node until it has a pod CIDR. Failures that waiting cannot mend (the
    /// server's certificate, credentials, authorisation, configuration) end the agent with
    /// the client's message; others (refused, not found yet, 429) are retried.
    func waitForPodCIDR(_ client: KubernetesClient, _ manager: KubeSubnetManager) async throws -> Node {
        var logged = false
        while true {
            do {
                let node = try await client.get(Node.self, name: settings.node)
                if try manager.subnet(of: node) != nil { return node }
                if !logged { logger.info("waiting for node \(settings.node) to get a pod CIDR (spec.podCIDR)") }
            } catch let error as KubernetesError where Self.isFatal(error) {
                throw AgentError(.failed, "the Kubernetes API refuses this agent: \(error)")
            } catch let error as KubernetesError {
                if !logged { logger.warning("waiting for node \(settings.node): \(error)") }
            }
            logged = true
            try await Task.sleep(for: .seconds(1))
            if Task.isShuttingDownGracefully { throw CancellationError() }
        }
    }

    static func isFatal(_ error: KubernetesError) -> Bool {
        let fatal: [KubernetesError.Code] = [.tlsFailed, .unauthorized, .forbidden, .credentialsUnavailable, .invalidConfiguration]
        return fatal.contains(error.code)
    }

    /// Retries `body` every 3 s for up to 30 s (flannel's bound on writing its node).
    func retrying<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            do {
                return try await body()
            } catch let error as KubernetesError where !Self.isFatal(error) && ContinuousClock.now < deadline {
                logger.warning("\(what) failed; retrying: \(error)")
                try await Task.sleep(for: .seconds(3))
            } catch {
                throw AgentError(.failed, "\(what): \(error)")
            }
        }
    }

    /// Converges the data path towards the peers the informer's nodes describe.
    func reconcile(_ informer: Informer<Node>, manager: KubeSubnetManager, dataPath: DataPath, backendType: String) async {
        reconciles.increment()
        let nodes = await informer.snapshot().values.filter { $0.name != settings.node }
            .compactMap { manager.peer(from: $0, backendType: backendType) }
            .filter { $0.subnet != dataPath.localSubnet }
            .sorted { $0.subnet.description < $1.subnet.description }
        do {
            let changed = try dataPath.reconcile(nodes)
            peers.record(nodes.count)
            changes.increment(by: changed)
            if changed > 0 { logger.info("converged", metadata: ["remoteNodes": "\(nodes.count)", "changes": "\(changed)"]) }
        } catch {
            reconcileErrors.increment()
            logger.error("reconcile failed", metadata: ["error": "\(error)"])
        }
    }
}
