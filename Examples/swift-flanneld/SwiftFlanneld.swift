import AgentOptions
import CNISpec
import AgentHTTP
import ArgumentParser
import Logging
import Metrics
import Namespaces
import Netlink
import NetPrimitives
import Routing
import ServiceLifecycle

@main
struct SwiftFlanneld: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-flanneld",
        abstract: "The swift-cni flannel agent: leases the node's subnet and programs the vxlan or host-gw data path.",
        discussion: """
            Reads flannel's network configuration from <prefix>/config in the store, leases a subnet \
            under <prefix>/subnets/, writes subnet.env for the swift-flannel CNI plugin and keeps the \
            routes (proto 91), neighbour and FDB entries towards every other node converged. \
            SIGTERM stops it and leaves the data path in place. With --kube-subnet-mgr it takes the \
            subnet from its Node's spec.podCIDR instead, writes flannel's node annotations and the \
            NetworkUnavailable condition, and learns the other nodes from the Kubernetes API.
            """)

    @Option(help: "This node's name (the lease is found again by it after a restart).")
    var node: String

    @Option(help: "The underlay interface, by name or by one of its addresses; repeat it to try several in order (default: the interface of the default route).")
    var iface: [String] = []

    @Option(help: "A regex matched against interface names, then against their addresses; repeat it to try several in order (after every --iface).")
    var ifaceRegex: [String] = []

    @Option(help: "Use the interface (and source address) of the route to this address.")
    var ifaceCanReach: String?

    @Option(help: "The address other nodes reach this one at (default: the chosen interface's address).")
    var publicIp: String?

    @Option(help: "The IPv6 address other nodes reach this one at, with EnableIPv6 (default: the chosen interface's IPv6 address).")
    var publicIpv6: String?

    @Option(help: "The store: file:DIR or etcd:URL[,URL...] (not used with --kube-subnet-mgr).")
    var store: String?

    @Flag(help: "Take the subnet from the Node's spec.podCIDR and the peers from the Kubernetes API instead of a store.")
    var kubeSubnetMgr = false

    @Option(
        name: [.customLong("kubeconfig"), .customLong("kubeconfig-file")],
        help: "With --kube-subnet-mgr: the kubeconfig (default: the pod's service account).")
    var kubeconfig: String?

    @Option(help: "With --kube-subnet-mgr: flannel's network configuration (net-conf.json).")
    var netConfigPath = NetworkConfigFile.defaultPath

    @Option(help: "With --kube-subnet-mgr: the prefix of flannel's node annotations.")
    var kubeAnnotationPrefix = FlannelAnnotations.defaultPrefix

    @Option(help: "With --kube-subnet-mgr: set the node's NetworkUnavailable condition to False once ready.")
    var setNodeNetworkUnavailable = true

    @OptionGroup var etcd: EtcdOptions

    @Option(help: "Where to write subnet.env.")
    var subnetFile = "/run/flannel/subnet.env"

    @Option(help: "Where to publish readiness for swift-flannel's STATUS (default: the --subnet-file path + .ready).")
    var readinessFile: String?

    @Option(help: "The key prefix of flannel's keys.")
    var etcdPrefix = "/coreos.com/network"

    @Flag(help: "Masquerade traffic leaving the cluster network (nftables table inet swiftcni_nat).")
    var ipMasq = false

    @Option(help: "Serve /healthz and /metrics on ADDR:PORT.")
    var listen: String?

    @Option(help: "Stop (as on SIGTERM) when process PID, the supervisor that started this one, exits, even by SIGKILL.")
    var parentPid: Int32?

    @Option(help: .hidden)
    var leaseTtl: Int64 = 24 * 3600

    @Option(help: .hidden)
    var resyncInterval = 30

    func validate() throws {
        guard !node.isEmpty, !node.contains("/") else { throw ValidationError("--node must be a non-empty name without '/'") }
        for option in iface where IPAddress(option) == nil && (try? InterfaceName(option)) == nil {
            throw ValidationError("--iface \(option) is neither an interface name nor an address")
        }
        for pattern in ifaceRegex where (try? Regex(pattern)) == nil { throw ValidationError("--iface-regex \(pattern) is not a valid regex") }
        if let ifaceCanReach, IPAddress(ifaceCanReach) == nil { throw ValidationError("--iface-can-reach \(ifaceCanReach) is not an address") }
        if let publicIp, IPAddress(publicIp) == nil { throw ValidationError("--public-ip \(publicIp) is not an address") }
        if let publicIpv6, IPAddress(publicIpv6)?.family != .v6 { throw ValidationError("--public-ipv6 \(publicIpv6) is not an IPv6 address") }
        if kubeSubnetMgr {
            do { _ = try FlannelAnnotations(prefix: kubeAnnotationPrefix) } catch { throw ValidationError(error.description) }
        } else {
            guard let store else { throw ValidationError("--store is required (or --kube-subnet-mgr)") }
            guard store.hasPrefix("file:") || store.hasPrefix("etcd:") else {
                throw ValidationError("--store must be file:DIR or etcd:URL[,URL...]")
            }
        }
        if let listen {
            do { _ = try ListenAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error.message)") }
        }
        guard leaseTtl >= 3 else { throw ValidationError("--lease-ttl must be at least 3 seconds") }
        guard resyncInterval >= 1 else { throw ValidationError("--resync-interval must be at least 1 second") }
        if let parentPid, parentPid < 1 { throw ValidationError("--parent-pid must be a process id") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let metrics = PrometheusExposition()
        MetricsSystem.bootstrap(metrics.factory)
        var logger = Logger(label: "swift-flanneld")
        logger[metadataKey: "node"] = "\(node)"
        if let parentPid { ParentWatch.start(expectedParent: parentPid, logger: logger) }
        let status = try AgentHealth(
            agent: "swift-flanneld", readinessFile: readinessFile ?? Self.defaultReadinessFile(subnetFile: subnetFile),
            detail: "leasing a subnet")
        // Withdrawn on every exit the process lives through; a crash leaves it to the pid check.
        defer { status.withdraw() }
        let underlay = try chooseUnderlay()
        logger.info("underlay \(underlay.interface) \(underlay.address), public address \(underlay.publicAddress), MTU \(underlay.mtu)")
        let underlay6 = chooseIPv6Underlay(beside: underlay)
        if let underlay6 { logger.info("IPv6 underlay \(underlay6.interface) \(underlay6.address), public address \(underlay6.publicAddress)") }
        let agent: any Service
        if kubeSubnetMgr {
            agent = KubeAgent(
                settings: KubeAgent.Settings(
                    node: node, underlay: underlay, kubeconfig: kubeconfig, netConfigPath: netConfigPath,
                    annotationPrefix: kubeAnnotationPrefix, subnetFile: subnetFile, ipMasquerade: ipMasq,
                    setNodeNetworkUnavailable: setNodeNetworkUnavailable, resyncSeconds: resyncInterval, underlay6: underlay6),
                status: status, logger: logger)
        } else {
            agent = Agent(
                settings: Agent.Settings(
                    node: node, underlay: underlay, store: store ?? "", etcdSecurity: etcd.security, prefix: etcdPrefix, subnetFile: subnetFile,
                    ipMasquerade: ipMasq, leaseTTLSeconds: leaseTtl, resyncSeconds: resyncInterval, underlay6: underlay6),
                status: status, logger: logger)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: agent, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let listen {
            let server = StatusServer(listen: try ListenAddress(parsing: listen), health: status, metrics: metrics, logger: logger)
            services.append(.init(service: server))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The underlay flannel's options choose among this namespace's interfaces (Routing's
    /// ``UnderlayDetection``).
    func chooseUnderlay() throws -> UnderlayChoice {
        let options = FlannelInterfaceOptions(
            interfaces: iface, regexes: ifaceRegex, canReach: ifaceCanReach.flatMap(IPAddress.init), publicIP: publicIp.flatMap(IPAddress.init))
        let netlink = try NetlinkHandle(namespace: NetworkNamespace.current())
        return try UnderlayDetection.flannel(options).choose(in: try UnderlayInventory.read(netlink))
    }

    /// The IPv6 underlay for a network with `EnableIPv6`: the address `--public-ipv6` names, else
    /// the first global IPv6 address of the interface chosen for IPv4 (nil when it has none).
    func chooseIPv6Underlay(beside underlay: UnderlayChoice) -> UnderlayChoice? {
        let options = FlannelInterfaceOptions(
            interfaces: [underlay.interface.value], publicIP: publicIpv6.flatMap(IPAddress.init))
        guard let netlink = try? NetlinkHandle(namespace: NetworkNamespace.current()),
            let inventory = try? UnderlayInventory.read(netlink)
        else { return nil }
        return try? UnderlayDetection.flannel(options).choose(in: inventory, family: .v6)
    }

    /// swift-flannel's default: subnet.env's path + `.ready`.
    static func defaultReadinessFile(subnetFile: String) -> String {
        AgentReadiness.path(beside: subnetFile)
    }
}
