import AgentHTTP
import CNISpec
import Datastore
import IPAM
import Logging
import Metrics
import Namespaces
import NIOConcurrencyHelpers
import Netlink
import Routing
import Nftables
import NetPrimitives
import ServiceLifecycle
import VXLAN

/// The flannel agent: leases this node's subnet, writes subnet.env, programs the backend and
/// keeps it converged with the other nodes' leases. On shutdown it leaves the data path and
/// its lease in place, so a restart neither drops pod traffic nor changes the subnet.
struct Agent: Service {
    struct Settings: Sendable {
        var node: String
        /// The underlay interface and address autodetection chose (``UnderlayDetection``).
        var underlay: UnderlayChoice
        var store: String
        var etcdSecurity: EtcdSecurity = .none
        var prefix: String
        var subnetFile: String
        var ipMasquerade: Bool
        var leaseTTLSeconds: Int64
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
    let renewals = Counter(label: "flannel_lease_renewals_total")
    let peers = Gauge(label: "flannel_remote_nodes")
    let duration = Metrics.Timer(label: "flannel_reconcile_duration_seconds")

    func run() async throws {
        let store = try StoreLocation.open(settings.store, security: settings.etcdSecurity)
        defer { Task { await store.close() } }
        let leases = SubnetLeaseManager(store: store, prefix: settings.prefix)
        let configuration = try await waitForConfiguration(leases)
        let backend = try BackendConfiguration(configuration.Backend)
        do { try configuration.validateFamilies() } catch { throw AgentError(.invalidConfiguration, error.description) }
        let handle = try NetlinkHandle(namespace: NetworkNamespace.current())

        // The underlay as chosen at start; the lease announces its public address(es).
        let underlay = settings.underlay
        let underlay6 = configuration.ipv6Enabled ? settings.underlay6 : nil
        if configuration.ipv6Enabled, underlay6 == nil {
            throw AgentError(.invalidConfiguration, "EnableIPv6 needs an IPv6 address on the underlay interface (or --public-ipv6)")
        }
        var families: [IPAddress.Family] = []
        if configuration.ipv4Enabled { families.append(.v4) }
        if configuration.ipv6Enabled { families.append(.v6) }
        var macs: [IPAddress.Family: MACAddress] = [:]
        if backend.kind == .vxlan {
            for family in families {
                let name = VTEPDevice.flannelName(identifier: backend.identifier, family: family)
                macs[family] = (try? handle.linkIfPresent(named: name))??.macAddress
                    ?? VTEPDevice.derivedMACAddress(nodeName: settings.node, identifier: backend.identifier, family: family)
            }
        }
        func vtepData(_ family: IPAddress.Family) -> JSONValue? {
            macs[family].map { ["VNI": .integer(Int64(backend.identifier)), "VtepMAC": .string($0.description)] }
        }
        var announced = SubnetLeaseAttributes(
            publicIP: underlay.publicAddress.description, backendType: backend.kind.rawValue, backendData: vtepData(.v4),
            nodeName: settings.node)
        if let underlay6 {
            announced.PublicIPv6 = underlay6.publicAddress.description
            announced.BackendV6Data = vtepData(.v6)
        }
        let attributes = announced
        // The subnets of an existing subnet.env are the preference after a restart.
        let previous = Self.previousSubnets(settings.subnetFile, logger: logger)
        let lease = try await leases.acquire(
            node: settings.node, attributes: attributes, configuration: configuration, ttlSeconds: settings.leaseTTLSeconds,
            preferred: previous.v4, preferredIPv6: previous.v6)
        let subnet = lease.primarySubnet
        logger.info(
            "leased subnet",
            metadata: ["subnet": "\(lease.hasIPv4 ? lease.subnet.description : "-")", "ipv6Subnet": "\(lease.ipv6Subnet?.description ?? "-")",
                       "backend": "\(backend.kind.rawValue)"])

        // The devices and the node-level settings, then subnet.env.
        // The pod MTU: the interface's minus the encapsulation (the smallest VTEP MTU with vxlan).
        var mtu = underlay.podMTU(.none)
        var dataPaths: [DataPath] = []
        for family in families {
            let (local, choice) = family == .v4 ? (lease.subnet.network, underlay) : (lease.ipv6Subnet!.network, underlay6!)
            if backend.kind == .vxlan {
                let vtep = try VTEPDevice(
                    identifier: backend.identifier, port: backend.port, nodeName: settings.node, subnet: local,
                    underlayDevice: choice.interface, underlayAddress: choice.address.address, underlayMTU: choice.mtu)
                let state = try vtep.ensure(handle: handle)
                mtu = dataPaths.isEmpty ? state.mtu : min(mtu, state.mtu)
                if state.macAddress != macs[family] { throw AgentError(.failed, "VTEP MAC of \(state.name) changed under the agent; restart it") }
            }
            try? handle.setIPForwarding(true, family: family)
            dataPaths.append(
                DataPath(
                    backend: backend, handle: handle, underlayDevice: choice.interface, underlayNetwork: choice.address.network,
                    localSubnet: local, family: family))
        }
        if settings.ipMasquerade {
            try Masquerade.ensure(
                network: configuration.ipv4Enabled ? configuration.Network : nil, ipv6Network: configuration.ipv6Enabled ? configuration.IPv6Network : nil,
                handle: try NftablesHandle(namespace: NetworkNamespace.current()))
        }
        try SubnetEnvironment(
            network: configuration.ipv4Enabled ? configuration.Network : nil, subnet: lease.hasIPv4 ? lease.subnet.network : nil,
            ipv6Network: configuration.ipv6Enabled ? configuration.IPv6Network : nil, ipv6Subnet: lease.ipv6Subnet, mtu: mtu,
            ipMasquerade: settings.ipMasquerade
        ).write(to: settings.subnetFile)

        let dataPath = DataPaths(paths: dataPaths)
        // Watch from the revision of a listing taken before the first convergence, so no
        // change between the two is missed (a change seen twice only costs a no-op reconcile).
        let revision = try await store.list(prefix: KeyLayout.flannelSubnets(prefix: settings.prefix)).revision
        let events = leases.watch(fromRevision: revision + 1)
        await reconcile(leases, dataPath: dataPath, own: subnet)
        status.update(ready: true, detail: "subnet \(subnet)")

        let held = NIOLockedValueBox(lease)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                var stream = events
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    do {
                        for try await event in stream.cancelOnGracefulShutdown() {
                            if case .removed(let removed) = event, removed.network == subnet {
                                logger.warning("own lease deleted from the store; leasing it again", metadata: ["subnet": "\(subnet)"])
                                let again = try await leases.acquire(
                                    node: settings.node, attributes: attributes, configuration: configuration,
                                    ttlSeconds: settings.leaseTTLSeconds, preferred: lease.subnet, preferredIPv6: lease.ipv6Subnet)
                                guard again.primarySubnet == subnet else {
                                    throw AgentError(.failed, "lost subnet \(subnet) (the store now gives \(again.subnet)); restart the agent")
                                }
                                held.withLockedValue { $0 = again }
                            }
                            await reconcile(leases, dataPath: dataPath, own: subnet)
                        }
                        break
                    } catch let error as AgentError {
                        throw error
                    } catch {
                        // A broken watch (store restarted, history compacted): resync and watch again.
                        logger.warning("watch failed; watching again", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .seconds(1))
                        stream = leases.watch(fromRevision: nil)
                        await reconcile(leases, dataPath: dataPath, own: subnet)
                    }
                }
            }
            group.addTask {
                // Periodic resync (repairs manual changes, catches missed events) and lease renewal.
                var seconds = 0
                let renewEvery = max(1, Int(settings.leaseTTLSeconds / 3))
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: .seconds(1))
                    seconds += 1
                    if seconds % renewEvery == 0 {
                        let current = held.withLockedValue { $0 }
                        do {
                            try await leases.renew(current)
                            renewals.increment()
                        } catch {
                            logger.warning("lease renewal failed; leasing again", metadata: ["error": "\(error)"])
                            let again = try await leases.acquire(
                                node: settings.node, attributes: attributes, configuration: configuration,
                                ttlSeconds: settings.leaseTTLSeconds, preferred: lease.subnet, preferredIPv6: lease.ipv6Subnet)
                            held.withLockedValue { $0 = again }
                        }
                    }
                    if seconds % settings.resyncSeconds == 0 {
                        await reconcile(leases, dataPath: dataPath, own: subnet)
                    }
                }
            }
        }
        logger.info("stopping; the data path and the lease stay in place")
    }

    /// Waits for `<prefix>/config` to appear in the store.
    func waitForConfiguration(_ leases: SubnetLeaseManager) async throws -> SubnetLeaseConfiguration {
        var logged = false
        while true {
            if let configuration = try await leases.configuration() { return configuration }
            if !logged {
                logger.info("waiting for the network configuration", metadata: ["key": "\(settings.prefix)/config"])
                logged = true
            }
            try await Task.sleep(for: .milliseconds(500))
            if Task.isShuttingDownGracefully { throw CancellationError() }
        }
    }

    /// Lists the leases and converges the data path towards the other nodes.
    func reconcile(_ leases: SubnetLeaseManager, dataPath: DataPaths, own subnet: IPNetwork) async {
        let start = ContinuousClock.now
        reconciles.increment()
        do {
            let others = try await leases.leases().filter { $0.primarySubnet != subnet }
            let changed = try dataPath.reconcile(others)
            peers.record(others.count)
            changes.increment(by: changed)
            if changed > 0 { logger.info("converged", metadata: ["remoteNodes": "\(others.count)", "changes": "\(changed)"]) }
        } catch {
            reconcileErrors.increment()
            logger.error("reconcile failed", metadata: ["error": "\(error)"])
        }
        let elapsed = (ContinuousClock.now - start).components
        duration.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }

    /// The subnets of an existing subnet.env (none yet: nil; unreadable: logged, nil).
    static func previousSubnets(_ path: String, logger: Logger) -> (v4: IPNetwork?, v6: IPNetwork?) {
        do {
            let environment = try SubnetEnvironment.load(path: path)
            return (environment.subnet?.network, environment.ipv6Subnet?.network)
        } catch {
            if error.code != .notReady { logger.warning("ignoring the previous \(path): \(error)") }
            return (nil, nil)
        }
    }
}
