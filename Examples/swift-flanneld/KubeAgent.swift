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

/// `--kube-subnet-mgr`: the agent takes its subnets from its Node's `spec.podCIDRs` (one per
/// family the network enables: IPv4, IPv6 with `EnableIPv6`, IPv6 alone with
/// `EnableIPv4: false`) instead of leasing them in a store, publishes its lease as flannel's
/// node annotations (`public-ipv6` and `backend-v6-data` for IPv6), sets the
/// NodeNetworkUnavailable condition False, and learns its peers from the other Nodes'
/// annotations (so flannel daemons and swift-flanneld can share a cluster). A restart reuses
/// the VTEP MACs of the node's `backend-data` and `backend-v6-data` annotations.
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
        /// The IPv6 address of the underlay (its interface's, or `--public-ipv6`), used when the
        /// network enables IPv6.
        var underlay6: UnderlayChoice? = nil
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
        var families: [IPAddress.Family] = []
        if configuration.ipv4Enabled { families.append(.v4) }
        if configuration.ipv6Enabled { families.append(.v6) }
        let underlay = settings.underlay
        let underlay6 = configuration.ipv6Enabled ? settings.underlay6 : nil
        if configuration.ipv6Enabled, underlay6 == nil {
            throw AgentError(.invalidConfiguration, "EnableIPv6 needs an IPv6 address on the underlay interface (or --public-ipv6)")
        }

        // The own node, once it has a pod CIDR (the controller-manager, or whoever allocates
        // node CIDRs, may not have got to it yet); then one of each enabled family, inside its network.
        var node = try await waitForPodCIDR(client, manager)
        var subnets: [IPAddress.Family: IPNetwork] = [:]
        for family in families {
            guard let subnet = try manager.subnet(of: node, family: family) else {
                throw AgentError(.failed, "node \(settings.node) has no IPv\(family.rawValue) pod CIDR (spec.podCIDRs \(node.podCIDRs)) but the network enables IPv\(family.rawValue)")
            }
            let network = family == .v4 ? configuration.Network : configuration.IPv6Network!
            guard network.network.contains(subnet) else {
                throw AgentError(.invalidConfiguration, "\(family == .v4 ? "Network" : "IPv6Network") \(network) of \(settings.netConfigPath) does not contain \(subnet), the pod CIDR of node \(settings.node)")
            }
            subnets[family] = subnet
        }
        let primary = subnets[families[0]]!

        let handle = try NetlinkHandle(namespace: NetworkNamespace.current())
        // The pod MTU: the interface's minus the encapsulation (the smallest VTEP MTU with vxlan).
        var mtu = underlay.podMTU(.none)
        var macs: [IPAddress.Family: MACAddress] = [:]
        var dataPaths: [DataPath] = []
        for family in families {
            let (subnet, choice) = (subnets[family]!, family == .v4 ? underlay : underlay6!)
            if backend.kind == .vxlan {
                var vtep = try VTEPDevice(
                    identifier: backend.identifier, port: backend.port, nodeName: settings.node, subnet: subnet,
                    underlayDevice: choice.interface, underlayAddress: choice.address.address, underlayMTU: choice.mtu)
                vtep.macAddress = manager.storedVTEPMAC(of: node, family: family)
                let state = try vtep.ensure(handle: handle)
                mtu = dataPaths.isEmpty ? state.mtu : min(mtu, state.mtu)
                macs[family] = state.macAddress
            }
            try? handle.setIPForwarding(true, family: family)
            dataPaths.append(
                DataPath(
                    backend: backend, handle: handle, underlayDevice: choice.interface, underlayNetwork: choice.address.network,
                    localSubnet: subnet, family: family))
        }
        func backendData(_ family: IPAddress.Family) -> String {
            macs[family].map { PublishedLease.vxlanBackendData(identifier: backend.identifier, vtepMAC: $0) } ?? "null"
        }
        let lease = PublishedLease(
            backendType: backend.kind.rawValue, backendData: backendData(.v4),
            publicIP: configuration.ipv4Enabled ? underlay.publicAddress : nil, backendV6Data: backendData(.v6),
            publicIPv6: underlay6?.publicAddress)
        if let patch = manager.annotationPatch(for: node, lease: lease) {
            node = try await retrying("annotating node \(settings.node)") {
                try await client.patch(Node.self, name: settings.node, patch: patch, type: .strategicMerge, subresource: "status")
            }
            logger.info("published the lease as node annotations", metadata: ["backendData": "\(lease.backendData)", "backendV6Data": "\(lease.backendV6Data)"])
        }
        logger.info(
            "subnets from the node's pod CIDRs",
            metadata: ["subnet": "\(subnets[.v4]?.description ?? "-")", "ipv6Subnet": "\(subnets[.v6]?.description ?? "-")", "backend": "\(backend.kind.rawValue)"])

        if settings.ipMasquerade {
            try Masquerade.ensure(
                network: configuration.ipv4Enabled ? configuration.Network : nil, ipv6Network: configuration.ipv6Enabled ? configuration.IPv6Network : nil,
                handle: try NftablesHandle(namespace: NetworkNamespace.current()))
        }
        try SubnetEnvironment(
            network: configuration.ipv4Enabled ? configuration.Network : nil, subnet: subnets[.v4],
            ipv6Network: configuration.ipv6Enabled ? configuration.IPv6Network : nil, ipv6Subnet: subnets[.v6], mtu: mtu,
            ipMasquerade: settings.ipMasquerade
        ).write(to: settings.subnetFile)

        let dataPath = DataPaths(paths: dataPaths)
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
            status.update(ready: true, detail: "subnet \(primary)")
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
                if try manager.subnet(of: node, family: .v4) != nil || manager.subnet(of: node, family: .v6) != nil { return node }
                if !logged { logger.info("waiting for node \(settings.node) to get a pod CIDR (spec.podCIDRs)") }
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

    /// Converges the data path of each family towards the peers of that family the
    /// informer's nodes describe.
    func reconcile(_ informer: Informer<Node>, manager: KubeSubnetManager, dataPath: DataPaths, backendType: String) async {
        reconciles.increment()
        let others = await informer.snapshot().values.filter { $0.name != settings.node }
        do {
            var changed = 0
            var remote = 0
            for path in dataPath.paths {
                let nodes = others.compactMap { manager.peer(from: $0, backendType: backendType, family: path.family) }
                    .filter { $0.subnet != path.localSubnet }
                    .sorted { $0.subnet.description < $1.subnet.description }
                remote = max(remote, nodes.count)
                changed += try path.reconcile(nodes)
            }
            peers.record(remote)
            changes.increment(by: changed)
            if changed > 0 { logger.info("converged", metadata: ["remoteNodes": "\(remote)", "changes": "\(changed)"]) }
        } catch {
            reconcileErrors.increment()
            logger.error("reconcile failed", metadata: ["error": "\(error)"])
        }
    }
}
