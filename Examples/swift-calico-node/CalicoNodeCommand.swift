import AgentOptions
import AgentHTTP
import ArgumentParser
import BGP
import Datastore
import Foundation
import Logging
import Metrics
import Namespaces
import Netlink
import NetPrimitives
import PolicyAgent
import Routing
import ServiceLifecycle

@main
struct CalicoNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-calico-node",
        abstract: "Calico-style node agent: BGP full mesh, block advertisement, route installation.",
        subcommands: [Run.self, Status.self], defaultSubcommand: Run.self)

    /// The readiness file's name in `--state-dir` (swift-calico's default `readinessFile` is
    /// `/var/run/swiftcni/calico-node/ready`, the default state directory's).
    static let readinessFileName = "ready"
}

/// Options shared by both subcommands.
struct StateDirectoryOption: ParsableArguments {
    @Option(help: "Directory of the agent's status socket (one per node when several share a machine).")
    var stateDir = "/var/run/swiftcni/calico-node"

    var socketPath: String { stateDir + "/status.sock" }

    /// Where the agent publishes readiness for swift-calico's STATUS (its `readinessFile`).
    var readinessPath: String { stateDir + "/" + CalicoNodeCommand.readinessFileName }
}

extension CalicoNodeCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the agent (the default).")

        @Option(help: "This node's name (its key under /swiftcni/nodes/).") var node: String
        @Option(help: "The JSON configuration file (Calico's field names).") var config: String
        @Option(help: "The datastore: file:DIR or etcd:URL[,URL…].") var store: String
        @OptionGroup var etcd: EtcdOptions
        @Option(help: "ADDR:PORT to serve /healthz and /metrics on.") var listen: String?
        @Option(help: "Calico's IP: the node's IPv4 address, autodetect (see --ip-autodetection-method) or none (IPv6-only) (default: $IP, else autodetect).")
        var address: String?
        @Option(help: "Calico's IP6: the node's IPv6 address, autodetect ($IP6_AUTODETECTION_METHOD, else first-found) or none (default: $IP6, else none).")
        var address6: String?
        @Option(help: "Calico's IP_AUTODETECTION_METHOD: first-found, interface=REGEX[,REGEX], skip-interface=REGEX[,REGEX], can-reach=DEST or cidr=CIDR[,CIDR] (default: $IP_AUTODETECTION_METHOD, else first-found).")
        var ipAutodetectionMethod: String?
        @Option(help: "Resync interval in milliseconds.") var resyncIntervalMs = 1000
        @Option(help: "Log level (trace, debug, info, notice, warning, error).") var logLevel = "info"
        @Option(help: "File to keep the store revision this node's policy enforces in (JSON, rewritten after every change).")
        var policyStatusFile: String?
        @Option(help: "Take the BGP mesh from the Kubernetes API's Nodes (and publish Calico's node annotations and condition), with this kubeconfig.")
        var kubeconfig: String?
        @Flag(help: "As --kubeconfig, with the pod's service account.") var kubeInCluster = false
        @OptionGroup var state: StateDirectoryOption

        func run() async throws {
            var logger = Logger(label: "swift-calico-node")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            let environment = ProcessInfo.processInfo.environment
            var configuration = try NodeConfiguration.load(path: config)
            try configuration.addEnvironmentPools(environment)
            let namespace = try NetworkNamespace.current()
            let netlink = try NetlinkHandle(namespace: namespace)
            let addresses = try NodeAddresses.resolve(
                address: address, address6: address6, autodetectionMethod: ipAutodetectionMethod, environment: environment,
                netlink: netlink, logger: logger)
            let ipv6Support = NodeConfiguration.ipv6Support(environment, addresses: addresses)
            let routerID = try NodeAddresses.routerID(configured: configuration.bgp.routerID, addresses: addresses, node: node)
            let listenAddress = try listen.map(Self.parseListen)
            let metrics = PrometheusExposition()
            MetricsSystem.bootstrap(metrics.factory)
            let store = try StoreLocation.open(self.store, security: etcd.security)
            if addresses.ipv4 != nil { try netlink.setIPForwarding(true) }
            if ipv6Support { try netlink.setIPForwarding(true, family: .v6) }

            let speaker = try BGPSpeaker(
                configuration: .init(
                    localAS: configuration.bgp.asNumber, routerID: routerID,
                    // "::" takes IPv4 peers too (IPv4-mapped).
                    listenAddress: addresses.ipv6 == nil ? .v4(.any) : .v6(.any),
                    listenPort: configuration.listenPort, gracefulRestartTime: UInt16(clamping: configuration.gracefulRestartTime)),
                logger: logger)
            // VXLAN (vxlanMode) is IPv4 only here: an IPv6-only node has no VTEP.
            let vxlan = addresses.ipv4Address.flatMap {
                CalicoVXLAN(node: node, address: $0, configuration: configuration, store: store, netlink: netlink, logger: logger)
            }
            let installer = RouteInstaller(
                speaker: speaker, netlink: netlink, logger: logger,
                leftoverSweepDelay: .seconds(configuration.gracefulRestartTime), excluded: vxlan?.networks ?? [])
            var kube: KubeNodeSource?
            if kubeconfig != nil || kubeInCluster {
                // Calico's IPv4Address annotation is a CIDR: the node address with its prefix.
                guard let ipv4 = addresses.ipv4 else { throw ValidationError("--kubeconfig needs the node's IPv4 address (IP)") }
                kube = try KubeNodeSource(
                    kubeconfig: kubeconfig, node: node, address: ipv4,
                    asNumber: configuration.bgp.asNumber, logger: logger)
            }
            let health = try AgentHealth(
                agent: "swift-calico-node", readinessFile: state.readinessPath, detail: "registering the node",
                podMTU: try NodeAddresses.podMTU(address: addresses.primary, vxlan: vxlan != nil, netlink: netlink))
            defer { health.withdraw() }
            let agent = NodeAgent(
                node: node, addresses: addresses, configuration: configuration, store: store, speaker: speaker,
                netlink: netlink, installer: installer, logger: logger, resyncInterval: .milliseconds(resyncIntervalMs), kube: kube,
                health: health, vxlan: vxlan, ipv6Support: ipv6Support)
            for peer in await agent.globalPeers { try await speaker.addPeer(peer) }
            let server = StatusServer.calicoNode(
                listen: listenAddress, socketPath: state.socketPath, health: health, metrics: metrics, logger: logger,
                report: { await StatusReport.collect(agent: agent, speaker: speaker, installer: installer) })
            let group = ServiceGroup(
                configuration: .init(
                    services: [
                        .init(service: speaker), .init(service: agent), .init(service: server),
                        .init(service: PolicyAgentService(PolicyAgent(
                            store: store, node: node, namespace: netlink.namespace, localAddresses: addresses.all,
                            logger: logger, statusHandler: PolicyAgentStatus.fileWriter(policyStatusFile)))),
                    ],
                    gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }

        static func parseListen(_ text: String) throws -> ListenAddress {
            do { return try ListenAddress(parsing: text) } catch { throw ValidationError("--listen: \(error.message)") }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the BGP peers of a running agent.")

        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var state: StateDirectoryOption

        func run() async throws {
            let response: StatusServer.Response
            do { response = try await StatusClient(.unixSocket(state.socketPath)).get("/status") } catch {
                throw AgentError(error.code, "\(error.message): is swift-calico-node running with this --state-dir?", underlying: error.underlying)
            }
            guard response.status == 200 else {
                throw AgentError(.malformedResponse, "GET /status answered \(response.status): \(response.body)")
            }
            let body = response.body
            if json {
                print(body)
            } else {
                let report = try JSONDecoder().decode(StatusReport.self, from: Data(body.utf8))
                print(report.table, terminator: "")
            }
        }
    }
}
