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
        let handle = try NetlinkHandle(namespace: NetworkNamespace.current())

        // The underlay as chosen at start; the lease announces its public address.
        let underlay = settings.underlay
        let underlayAddress = underlay.address
        let vtepName = try InterfaceName("flannel.\(backend.identifier)")
        var backendData: JSONValue? = nil
        var vtepMAC: MACAddress? = nil
        if backend.kind == .vxlan {
            vtepMAC = (try? handle.linkIfPresent(named: vtepName))??.macAddress
                ?? MACAddress.derived(from: Array("\(settings.node)/vxlan/\(backend.identifier)".utf8))
            backendData = ["VNI": .integer(Int64(backend.identifier)), "VtepMAC": .string(vtepMAC!.description)]
        }
        let attributes = SubnetLeaseAttributes(
            publicIP: underlay.publicAddress.description, backendType: backend.kind.rawValue, backendData: backendData,
            nodeName: settings.node)
        // The subnet of an existing subnet.env is the preference after a restart.
        let preferred = Self.previousSubnet(settings.subnetFile, logger: logger)
        let lease = try await leases.acquire(
            node: settings.node, attributes: attributes, configuration: configuration, ttlSeconds: settings.leaseTTLSeconds,
            preferred: preferred)
        let subnet = lease.subnet.network
        logger.info("leased subnet", metadata: ["subnet": "\(subnet)", "backend": "\(backend.kind.rawValue)"])

        // The device and the node-level settings, then subnet.env.
        // The pod MTU: the interface's minus the encapsulation (the VTEP's MTU with vxlan).
        var mtu = underlay.podMTU(.none)
        if backend.kind == .vxlan {
            let vtep = try VTEPDevice(
                identifier: backend.identifier, port: backend.port, nodeName: settings.node, subnet: subnet,
                underlayDevice: underlay.interface, underlayAddress: underlayAddress.address, underlayMTU: underlay.mtu)
            let state = try vtep.ensure(handle: handle)
            mtu = state.mtu
            if state.macAddress != vtepMAC { throw AgentError(.failed, "VTEP MAC changed under the agent; restart it") }
        }
        try? handle.setIPForwarding(true)
        if settings.ipMasquerade {
            try Masquerade.ensure(network: configuration.Network, handle: try NftablesHandle(namespace: NetworkNamespace.current()))
        }
        try SubnetEnvironment(network: configuration.Network, subnet: subnet, mtu: mtu, ipMasquerade: settings.ipMasquerade)
            .write(to: settings.subnetFile)

        let dataPath = DataPath(
            backend: backend, handle: handle, underlayDevice: underlay.interface, underlayNetwork: underlayAddress.network,
            localSubnet: subnet)
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
                                    ttlSeconds: settings.leaseTTLSeconds, preferred: subnet)
                                guard again.subnet.network == subnet else {
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
                                ttlSeconds: settings.leaseTTLSeconds, preferred: subnet)
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
    func reconcile(_ leases: SubnetLeaseManager, dataPath: DataPath, own subnet: IPNetwork) async {
        let start = ContinuousClock.now
        reconciles.increment()
        do {
            let nodes = try await leases.leases().compactMap { lease -> RemoteNode? in
                guard lease.subnet.network != subnet, let address = try? IPAddress(parsing: lease.attributes.PublicIP) else { return nil }
                let mac = lease.attributes.BackendData?["VtepMAC"]?.stringValue.flatMap { try? MACAddress(parsing: $0) }
                return RemoteNode(subnet: lease.subnet.network, address: address, vtepMACAddress: mac)
            }
            let changed = try dataPath.reconcile(nodes)
            peers.record(nodes.count)
            changes.increment(by: changed)
            if changed > 0 { logger.info("converged", metadata: ["remoteNodes": "\(nodes.count)", "changes": "\(changed)"]) }
        } catch {
            reconcileErrors.increment()
            logger.error("reconcile failed", metadata: ["error": "\(error)"])
        }
        let elapsed = (ContinuousClock.now - start).components
        duration.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
    }

    /// The subnet of an existing subnet.env (none yet: nil; unreadable: logged, nil).
    static func previousSubnet(_ path: String, logger: Logger) -> IPNetwork? {
        do {
            return try SubnetEnvironment.load(path: path).subnet.network
        } catch {
            if error.code != .notReady { logger.warning("ignoring the previous \(path): \(error)") }
            return nil
        }
    }
}
