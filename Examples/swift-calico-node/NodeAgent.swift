import AgentHTTP
import BGP
import Datastore
import Foundation
import IPAM
import Logging
import Netlink
import NetPrimitives
import ServiceLifecycle

/// The node agent: registers the node, keeps the BGP sessions Calico's resources describe
/// (``BGPPeerPlan``: the full mesh, route reflectors, BGPPeers) and the configuration file's
/// global peers, advertises the node's affine
/// IPAM blocks with a blackhole route each (`proto 93`), and hands learned routes to the
/// ``RouteInstaller``. State changes come from a watch of `/swiftcni/` plus a periodic resync.
actor NodeAgent: Service {
    static let blackholeProtocol = Netlink.Route.ProtocolTag(93)

    let node: String
    /// The node's BGP addresses (``NodeAddresses``); ``address`` is the one sessions run between.
    let addresses: NodeAddresses
    nonisolated var address: IPAddress { addresses.primary }
    /// FELIX_IPV6SUPPORT: IPv6 masquerade for IPv6 pools with `natOutgoing`.
    let ipv6Support: Bool
    let configuration: NodeConfiguration
    let store: any Datastore
    let speaker: BGPSpeaker
    let netlink: NetlinkHandle
    let installer: RouteInstaller
    let logger: Logger
    let resyncInterval: Duration
    /// With `--kubeconfig`: the mesh comes from the API's Nodes (see ``KubeNodeSource``).
    let kube: KubeNodeSource?
    /// Ready (and published for swift-calico's STATUS) after the first full reconcile.
    let health: AgentHealth?
    /// With a pool whose `vxlanMode` is not `Never`.
    let vxlan: CalicoVXLAN?
    private(set) var tunnel: CalicoVXLAN.Tunnel?

    /// The peers applied from the last ``BGPPeerPlan``, by address.
    var plannedPeers: [IPAddress: BGPPeerPlan.Peer] = [:]
    /// The route reflector cluster ID the speaker was given (nil: not a route reflector).
    var appliedClusterID: IPv4Address?
    /// The last plan's problems, logged once each.
    var reportedProblems: Set<String> = []
    private(set) var advertisedBlocks: Set<IPNetwork> = []
    /// Host routes of addresses borrowed from other nodes' blocks.
    private(set) var advertisedBorrowed: Set<IPNetwork> = []
    /// The node of each handle allocated in another node's block (from the handle records).
    private var handleOwners: [String: String] = [:]

    init(
        node: String, addresses: NodeAddresses, configuration: NodeConfiguration, store: any Datastore, speaker: BGPSpeaker,
        netlink: NetlinkHandle, installer: RouteInstaller, logger: Logger, resyncInterval: Duration, kube: KubeNodeSource? = nil,
        health: AgentHealth? = nil, vxlan: CalicoVXLAN? = nil, ipv6Support: Bool = false
    ) {
        self.ipv6Support = ipv6Support
        self.health = health
        self.vxlan = vxlan
        self.kube = kube
        self.node = node
        self.addresses = addresses
        self.configuration = configuration
        self.store = store
        self.speaker = speaker
        self.netlink = netlink
        self.installer = installer
        self.logger = logger
        self.resyncInterval = resyncInterval
    }

    var globalPeers: [BGPSpeaker.PeerConfiguration] {
        (configuration.peers ?? []).compactMap { peer in
            guard let address = IPAddress(peer.peerIP) else { return nil }
            return BGPSpeaker.PeerConfiguration(
                address: address, asNumber: peer.asNumber, port: peer.port ?? 179, holdTime: configuration.holdTime,
                connectRetryTime: configuration.connectRetryTime, password: peer.password, families: families,
                nextHopIPv6: addresses.ipv6Address)
        }
    }

    /// The families this node's sessions carry: IPv4 unicast with an IPv4 address, IPv6
    /// unicast with an IPv6 one (over the IPv4 session on a dual-stack node).
    var families: [AddressFamily] {
        (addresses.ipv4 == nil ? [] : [.ipv4Unicast]) + (addresses.ipv6 == nil ? [] : [.ipv6Unicast])
    }

    func run() async throws {
        if let vxlan { tunnel = try await vxlan.prepare() }
        try await register()
        if let kube {
            try await kube.publish()
        }
        if let rules = OutgoingNAT(pools: (configuration.ipPools ?? []).filter { ipv6Support || $0.cidr.family == .v4 }) {
            try await rules.apply(in: netlink.namespace)
        }
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.installer.run() }
                group.addTask { try await self.reconcileLoop() }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// `/swiftcni/nodes/<node>`: the node's address and AS.
    func register() async throws {
        var record = NodeRecord(
            name: node, addresses: addresses.all.map { "\($0)" }, asNumber: configuration.bgp.asNumber, bgpPort: configuration.listenPort)
        record.ipv6Address = addresses.ipv6.map { "\($0)" }
        record.ipv4VXLANTunnelAddr = tunnel.map { "\($0.address)" }
        record.vxlanTunnelMACAddr = tunnel.map { "\($0.macAddress)" }
        try await ClusterRegistry(store: store).register(record)
        logger.info("registered node \(node) at \(addresses.all.map { "\($0)" }.joined(separator: ", ")) AS \(configuration.bgp.asNumber)")
    }

    /// Reconciles at once, then on every change under `/swiftcni/` and every resync interval.
    func reconcileLoop() async throws {
        let (wakeups, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let store = self.store
        let interval = resyncInterval
        let logger = self.logger
        let watcher = Task {
            while !Task.isCancelled {
                do {
                    for try await _ in store.watch(prefix: KeyLayout.root + "/", fromRevision: nil) { wake.yield() }
                } catch {
                    logger.debug("watch ended: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
        let ticker = Task {
            while !Task.isCancelled {
                wake.yield()
                try? await Task.sleep(for: interval)
            }
        }
        let nodes = Task { [kube] in
            guard let kube else { return }
            await kube.run { wake.yield() }
        }
        defer {
            watcher.cancel()
            ticker.cancel()
            nodes.cancel()
        }
        for await _ in wakeups {
            try Task.checkCancellation()
            do {
                try await reconcile()
                health?.update(ready: true, detail: "node \(node) registered, \(advertisedBlocks.count) block(s) advertised")
            } catch {
                logger.warning("reconcile failed: \(error)")
            }
        }
    }

    func reconcile() async throws {
        if try await ClusterRegistry(store: store).node(node) == nil { try await register() }
        try await reconcilePeers()
        try await reconcileBlocks()
        if let vxlan, let tunnel { try await reconcileOverlay(vxlan, tunnel) }
    }

    /// The VXLAN overlay's routes for every remote block of a VXLAN pool.
    func reconcileOverlay(_ vxlan: CalicoVXLAN, _ tunnel: CalicoVXLAN.Tunnel) async throws {
        let blocks = try await store.list(prefix: KeyLayout.blocks).items.compactMap {
            try? JSONDecoder().decode(AllocationBlock.self, from: Data($0.value))
        }
        let logger = self.logger
        let nodes = try await ClusterRegistry(store: store).nodes(reportingMalformed: { logger.warning("skipping a node: \($0)") })
        try vxlan.reconcile(tunnel: tunnel, blocks: blocks, nodes: nodes)
    }

    /// Advertises the blocks affine to this node, each with a blackhole route so traffic to an
    /// unallocated address of a local block is dropped here, and each address this node
    /// borrowed from another node's block as a host route (/32, /128): more specific than the
    /// owner's block, so the owner and every other node route it here (IPAM's ``BlockRoutes``).
    /// Withdraws released blocks and addresses.
    func reconcileBlocks() async throws {
        var blocks: [AllocationBlock] = []
        for item in try await store.list(prefix: KeyLayout.blocks).items {
            do { blocks.append(try JSONDecoder().decode(AllocationBlock.self, from: Data(item.value))) } catch {
                logger.warning("skipping the IPAM block \(item.key): it does not decode: \(error)")
            }
        }
        // The handle records say who holds an address in another node's (or an unaffined)
        // block. A handle's node never changes, so they are kept between reconciles and the
        // handles are listed again only when such a block holds a handle not seen yet.
        let foreign = Set(blocks.filter { $0.affinity != node }.flatMap(\.allocations.values))
        if !foreign.isSubset(of: handleOwners.keys) {
            var owners: [String: String] = [:]
            for item in try await store.list(prefix: KeyLayout.handles).items {
                guard let record = try? JSONDecoder().decode(BlockAllocator.HandleRecord.self, from: Data(item.value)) else {
                    logger.warning("skipping the IPAM handle \(item.key): it does not decode")
                    continue
                }
                owners[String(item.key.dropFirst(KeyLayout.handles.count))] = record.node
            }
            handleOwners = owners
        }
        handleOwners = handleOwners.filter { foreign.contains($0.key) }
        let routes = BlockRoutes(node: node, blocks: blocks, handleOwners: handleOwners)
        let mine = routes.affineBlocks
        for block in mine.subtracting(advertisedBlocks).sorted(by: { $0.address < $1.address }) {
            try netlink.replaceRoute(Netlink.Route(destination: block, kind: .blackhole, protocolTag: Self.blackholeProtocol))
            try await speaker.advertise(block)
            advertisedBlocks.insert(block)
            logger.info("advertising block \(block)")
        }
        for block in advertisedBlocks.subtracting(mine) {
            try await speaker.withdraw(block)
            _ = try? netlink.deleteRouteIfPresent(
                Netlink.Route(destination: block, kind: .blackhole, protocolTag: Self.blackholeProtocol))
            advertisedBlocks.remove(block)
            logger.info("withdrew released block \(block)")
        }
        for address in routes.borrowedAddresses.subtracting(advertisedBorrowed).sorted(by: { $0.address < $1.address }) {
            try await speaker.advertise(address)
            advertisedBorrowed.insert(address)
            logger.info("advertising borrowed address \(address)")
        }
        for address in advertisedBorrowed.subtracting(routes.borrowedAddresses) {
            try await speaker.withdraw(address)
            advertisedBorrowed.remove(address)
            logger.info("withdrew borrowed address \(address)")
        }
    }

    func snapshot() -> (peers: [IPAddress: BGPPeerPlan.Peer], clusterID: IPv4Address?, blocks: [IPNetwork], borrowed: [IPNetwork]) {
        (plannedPeers, appliedClusterID, advertisedBlocks.sorted { $0.address < $1.address }, advertisedBorrowed.sorted { $0.address < $1.address })
    }
}
