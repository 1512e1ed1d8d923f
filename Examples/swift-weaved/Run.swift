import AgentHTTP
import ArgumentParser
import CNISpec
import Datastore
import Foundation
import IPAM
import Logging
import Mesh
import Metrics
import Namespaces
import Netlink
import NetPrimitives
import PolicyAgent
import Routing
import ServiceLifecycle
import Weave

extension SwiftWeaved {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the agent on this node (in the node's network namespace).",
            discussion: """
                Joins the mesh (TCP 6783 on the underlay address; --peer addresses kept connected, \
                peers learned by gossip dialed too), keeps bridge weave with the kernel VXLAN fast \
                path vxlan-6784 (UDP 6784; a flood entry per connected peer, remote MACs learned by \
                the kernel), masquerades traffic leaving the range, allocates pod addresses from the \
                ring on --socket (persisted in --data-dir), and with --store enforces the store's \
                network policies for this node's pods. SIGTERM stops it and leaves the data path in place.
                """)

        @Option(help: "This node's name (the peer's nickname; the pod records' node).")
        var node: String

        @Option(help: "The underlay interface (default: the interface of the first global IPv4 address).")
        var iface: String?

        @Option(name: .customLong("peer"), help: "A peer to keep connected: ADDR or ADDR:PORT (repeatable).")
        var peers: [String] = []

        @Option(help: "The mesh secret: a file from generate-secret (64 hex digits).")
        var secretFile: String?

        @Option(help: "Underlay networks whose data needs no encryption (comma-separated CIDRs).")
        var trustedSubnets: String?

        @Option(help: "The address range split among the peers.")
        var ipallocRange = WeaveNames.defaultRange.description

        @Option(help: "consensus=N (N peers must agree on the initial split; default: the --peer count + 1) or observer (join an existing ring).")
        var ipallocInit: String?

        @Option(help: "Where the ring state is kept (a local file store).")
        var dataDir = "/var/lib/swift-weave"

        @Option(help: "The local socket the swift-weave plugin asks for addresses on.")
        var socket = WeaveNames.defaultSocketPath

        @Option(help: "Where to publish readiness for swift-weave's STATUS (default: the --socket path + .ready).")
        var readinessFile: String?

        @Option(help: "The store with network policies and pod records: file:DIR or etcd:URL[,URL...]. Without it, no policy.")
        var store: String?

        @Option(help: "File to keep the store revision this node enforces in (JSON, rewritten after every change).")
        var policyStatusFile: String?

        @Option(help: "Serve /healthz and /metrics on ADDR:PORT.")
        var listen: String?

        @Option(help: "Seconds between full policy resyncs.")
        var resyncInterval = 30

        @Option(help: "Seconds between heartbeats on each mesh connection (a connection silent for 3 intervals is dropped).")
        var heartbeatInterval = 10

        func validate() throws {
            guard !node.isEmpty, !node.contains("/") else { throw ValidationError("--node must be a non-empty name without '/'") }
            if let iface, (try? InterfaceName(iface)) == nil { throw ValidationError("--iface \(iface) is not a valid interface name") }
            _ = try parsedPeers()
            _ = try parsedTrustedSubnets()
            _ = try parsedRange()
            _ = try parsedInit()
            if let store, !(store.hasPrefix("file:") || store.hasPrefix("etcd:")) {
                throw ValidationError("--store must be file:DIR or etcd:URL[,URL...]")
            }
            guard resyncInterval >= 1, heartbeatInterval >= 1 else { throw ValidationError("intervals are at least 1 second") }
            if let listen {
                do { _ = try ListenAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error.message)") }
            }
        }

        func parsedPeers() throws -> [MeshPeerAddress] {
            try peers.map { text in
                if let address = try? IPAddress(parsing: text) { return MeshPeerAddress(address) }
                guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
                    let address = try? IPAddress(parsing: text[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]")))
                else { throw ValidationError("--peer \(text) is not ADDR or ADDR:PORT") }
                return MeshPeerAddress(address, port: port)
            }
        }

        func parsedTrustedSubnets() throws -> TrustedSubnets {
            guard let trustedSubnets, !trustedSubnets.isEmpty else { return TrustedSubnets() }
            return TrustedSubnets(try trustedSubnets.split(separator: ",").map { text in
                guard let network = try? IPNetwork(parsing: text.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--trusted-subnets: '\(text)' is not a CIDR")
                }
                return network
            })
        }

        func parsedRange() throws -> IPNetwork {
            guard let range = try? IPNetwork(parsing: ipallocRange), range.family == .v4, range.prefixLength <= 30 else {
                throw ValidationError("--ipalloc-range \(ipallocRange) is not an IPv4 CIDR of at least 4 addresses")
            }
            return range.network
        }

        /// (initial peer count, observer)
        func parsedInit() throws -> (Int, Bool) {
            guard let ipallocInit else { return (peers.count + 1, false) }
            if ipallocInit == "observer" { return (1, true) }
            guard ipallocInit.hasPrefix("consensus="), let count = Int(ipallocInit.dropFirst("consensus=".count)), count >= 1 else {
                throw ValidationError("--ipalloc-init is consensus=N (N ≥ 1) or observer, not '\(ipallocInit)'")
            }
            return (count, false)
        }

        func run() async throws {
            signal(SIGPIPE, SIG_IGN)  // a client that hung up is an error on its socket, not the agent's death
            LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
            let metrics = PrometheusExposition()
            MetricsSystem.bootstrap(metrics.factory)
            var logger = Logger(label: "swift-weaved")
            logger[metadataKey: "node"] = "\(node)"

            let namespace = try NetworkNamespace.current()
            let netlink = try NetlinkHandle(namespace: namespace)
            let underlay: NodeUnderlay
            if let iface {
                let name = try InterfaceName(iface)
                guard let address = try netlink.addresses(family: .v4, device: name).first(where: { $0.scope == .universe }) else {
                    throw ValidationError("--iface \(iface) has no global IPv4 address")
                }
                underlay = NodeUnderlay(interface: name, address: address.network)
            } else {
                guard let detected = try NodeUnderlay.detect(netlink) else {
                    throw ValidationError("no interface with a global IPv4 address: pass --iface")
                }
                underlay = detected
            }
            let underlayMTU = try netlink.link(named: underlay.interface).mtu

            let secret = try secretFile.map { path throws(MeshError) in try MeshSecret(contentsOfFile: path) }
            let identity = PeerNaming.identity(node: node)
            let dataPath = try DataPath(
                netlink: netlink, range: try parsedRange(), underlay: underlay, underlayMTU: underlayMTU,
                bridgeMAC: MACAddress(bytes: identity.name.bytes))
            var meshConfiguration = MeshConfiguration(
                identity: identity, listen: MeshPeerAddress(underlay.address.address, port: WeaveNames.controlPort),
                dialFromListenAddress: true, peers: try parsedPeers(), secret: secret, trustedSubnets: try parsedTrustedSubnets())
            meshConfiguration.heartbeatInterval = .seconds(Int64(heartbeatInterval))
            meshConfiguration.heartbeatTimeout = .seconds(Int64(heartbeatInterval * 3))
            meshConfiguration.backoff = ReconnectBackoff(initial: .milliseconds(200), maximum: .seconds(5))
            let router = MeshRouter(
                configuration: MeshRouterConfiguration(node: meshConfiguration, gossipInterval: .seconds(5)), logger: logger)

            try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
            let ringStore = RingNodeStore(store: try StoreLocation.open("file:" + dataDir))
            let (initialCount, observer) = try parsedInit()
            let ring = try await ringStore.load(
                me: PeerNaming.ringPeer(identity.name, nickname: node), range: try parsedRange(),
                initialPeerCount: initialCount, observer: observer)
            let sleeve = Sleeve(
                local: identity.name.rawValue, tap: try TapDevice(name: WeaveNames.sleeveDevice),
                socket: try SleeveSocket(port: UInt16(WeaveNames.controlPort)), underlayMTU: underlayMTU)
            let agent = WeaveAgent(router: router, dataPath: dataPath, sleeve: sleeve, ringStore: ringStore, ring: ring, logger: logger)

            let health = try AgentHealth(
                agent: "swift-weaved", readinessFile: readinessFile ?? AgentReadiness.path(beside: socket),
                detail: "starting")
            defer { health.withdraw() }
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: AgentService(agent: agent, node: node, socketPath: socket, health: health, logger: logger),
                      successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            ]
            if let listen {
                services.append(.init(service: StatusServer(
                    listen: try ListenAddress(parsing: listen), health: health, metrics: metrics,
                    beforeScrape: { await agent.recordMetrics() }, logger: logger)))
            }
            if let store {
                let policy = PolicyAgent(
                    store: try StoreLocation.open(store), node: node, namespace: namespace, localAddresses: [underlay.address.address],
                    resyncInterval: .seconds(resyncInterval), logger: logger,
                    statusHandler: PolicyAgentStatus.fileWriter(policyStatusFile))
                services.append(.init(service: PolicyAgentService(policy)))
            }
            let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }
}

/// The agent as a service: started, then serving the socket until graceful shutdown; then the
/// socket is removed and the mesh stopped (the data path stays, so pods keep working).
struct AgentService: Service {
    let agent: WeaveAgent
    let node: String
    let socketPath: String
    let health: AgentHealth
    let logger: Logger

    func run() async throws {
        try await agent.start()
        let node = self.node
        let server = AgentSocketServer(path: socketPath) { request in await agent.handle(request, node: node) }
        try server.start()
        logger.info("serving \(socketPath)")
        let health = self.health
        let watcher = Task {
            while !Task.isCancelled {
                let gateway = await agent.gateway
                health.update(ready: gateway != nil, detail: gateway.map { "bridge at \($0)" } ?? "waiting for the ring")
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .milliseconds(200))
            }
        } onGracefulShutdown: {}
        watcher.cancel()
        server.stop()
        await agent.stop()
        logger.info("stopped")
    }
}
