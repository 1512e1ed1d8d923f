import AgentOptions
import AgentHTTP
import ArgumentParser
import CNISpec
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

/// swift-canald: what Canal runs on every node. flannel's VXLAN overlay between nodes is
/// swift-flanneld itself, started and supervised as a child process (its lease, subnet.env,
/// routes, neighbours and FDB: nothing is re-implemented here); the network policy of this
/// node's pods is the PolicyAgent, in process.
@main
struct SwiftCanald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-canald",
        abstract: "The swift-cni Canal agent: flannel's VXLAN overlay (swift-flanneld) plus network policy for this node's pods.",
        discussion: """
            Starts swift-flanneld (found next to this executable, or --flanneld) for the overlay and \
            subnet.env, enables IPv4 forwarding, and enforces the policies, pods and labels of the store \
            (/swiftcni/policies/, /swiftcni/pods/, /swiftcni/labels/) for the pods of --node in nftables \
            table inet swiftcni_policy. SIGTERM stops both and leaves the data path in place.
            """)

    @Option(help: "This node's name (flannel's lease and the pod records' node).")
    var node: String

    @Option(help: "The store: file:DIR or etcd:URL[,URL...].")
    var store: String

    @OptionGroup var etcd: EtcdOptions

    @Option(help: "The underlay interface, by name or by one of its addresses; repeat it to try several in order (flannel's; default: the interface of the first global IPv4 address).")
    var iface: [String] = []

    @Option(help: "flannel's --iface-regex: a regex matched against interface names, then their addresses; repeatable.")
    var ifaceRegex: [String] = []

    @Option(help: "flannel's --iface-can-reach: the interface (and source address) of the route to this address.")
    var ifaceCanReach: String?

    @Option(help: "flannel's --public-ip: the address other nodes reach this one at.")
    var publicIp: String?

    @Option(help: "Where swift-flanneld writes subnet.env (read by the swift-canal plugin).")
    var subnetFile = "/run/flannel/subnet.env"

    @Option(help: "Where to publish readiness for swift-canal's STATUS (default: the --subnet-file path + .canald.ready; its swift-flanneld publishes the --subnet-file path + .ready).")
    var readinessFile: String?

    @Option(help: "The key prefix of flannel's keys.")
    var etcdPrefix = "/coreos.com/network"

    @Flag(help: "Masquerade traffic leaving the cluster network (swift-flanneld --ip-masq).")
    var ipMasq = false

    @Option(help: "File to keep the store revision this node enforces in (JSON, rewritten after every change).")
    var policyStatusFile: String?

    @Option(help: "Serve /healthz and /metrics (policy) on ADDR:PORT.")
    var listen: String?

    @Flag(help: "Pass flannel's kube subnet manager mode through: swift-flanneld takes the subnet from the Node's spec.podCIDR and its peers from the Kubernetes API (policies still come from the store).")
    var kubeSubnetMgr = false

    @Option(
        name: [.customLong("kubeconfig"), .customLong("kubeconfig-file")],
        help: "With --kube-subnet-mgr: the kubeconfig swift-flanneld uses (default: the pod's service account).")
    var kubeconfig: String?

    @Option(help: "With --kube-subnet-mgr: flannel's network configuration (net-conf.json) for swift-flanneld.")
    var netConfigPath: String?

    @Option(help: "With --kube-subnet-mgr: the prefix of flannel's node annotations.")
    var kubeAnnotationPrefix: String?

    @Option(help: "The swift-flanneld executable.")
    var flanneld: String?

    @Option(help: "Seconds between full policy resyncs (and swift-flanneld's resync interval).")
    var resyncInterval = 30

    func validate() throws {
        guard !node.isEmpty, !node.contains("/") else { throw ValidationError("--node must be a non-empty name without '/'") }
        guard store.hasPrefix("file:") || store.hasPrefix("etcd:") else {
            throw ValidationError("--store must be file:DIR or etcd:URL[,URL...]")
        }
        for option in iface where IPAddress(option) == nil && (try? InterfaceName(option)) == nil {
            throw ValidationError("--iface \(option) is neither an interface name nor an address")
        }
        for pattern in ifaceRegex where (try? Regex(pattern)) == nil { throw ValidationError("--iface-regex \(pattern) is not a valid regex") }
        if let ifaceCanReach, IPAddress(ifaceCanReach) == nil { throw ValidationError("--iface-can-reach \(ifaceCanReach) is not an address") }
        if let publicIp, IPAddress(publicIp) == nil { throw ValidationError("--public-ip \(publicIp) is not an address") }
        guard resyncInterval >= 1 else { throw ValidationError("--resync-interval must be at least 1 second") }
        if let listen {
            do { _ = try ListenAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error.message)") }
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let metrics = PrometheusExposition()
        MetricsSystem.bootstrap(metrics.factory)
        let status = try CanalStatus(readinessFile: readinessFile ?? AgentReadiness.path(beside: subnetFile, agent: "canald"))
        defer { status.health.withdraw() }
        var logger = Logger(label: "swift-canald")
        logger[metadataKey: "node"] = "\(node)"
        let namespace = try NetworkNamespace.current()
        let netlink = try NetlinkHandle(namespace: namespace)
        // flannel's options choose the interface and address (Routing's UnderlayDetection);
        // without any, the interface of the first global IPv4 address. swift-flanneld gets the
        // chosen address as its --iface, so it takes that very address.
        let underlay: InterfaceName
        var flanneldInterface: [String]
        if iface.isEmpty && ifaceRegex.isEmpty && ifaceCanReach == nil && publicIp == nil {
            guard let detected = try NodeUnderlay.detect(netlink) else {
                throw ValidationError("no interface with a global IPv4 address: pass --iface")
            }
            underlay = detected.interface
            flanneldInterface = ["--iface", detected.interface.value]
        } else {
            let options = FlannelInterfaceOptions(
                interfaces: iface, regexes: ifaceRegex, canReach: ifaceCanReach.flatMap(IPAddress.init), publicIP: publicIp.flatMap(IPAddress.init))
            let choice = try UnderlayDetection.flannel(options).choose(in: try UnderlayInventory.read(netlink))
            underlay = choice.interface
            flanneldInterface = ["--iface", choice.address.address.description]
            if let publicIp { flanneldInterface += ["--public-ip", publicIp] }
        }
        // The underlay's IPv4 and global IPv6 addresses: traffic from them to pods is the node's.
        let nodeAddresses = try NodeUnderlay.addresses(of: underlay, netlink)
            + netlink.addresses(family: .v6, device: underlay).map(\.network.address).filter { !($0.ipv6?.isLinkLocal ?? false) }
        try netlink.setIPForwarding(true)
        let executable = flanneld ?? Self.siblingExecutable("swift-flanneld")
        let overlay = FlannelProcess(executable: executable, arguments: flanneldArguments(interface: flanneldInterface), logger: logger)
        let agent = PolicyAgent(
            store: try StoreLocation.open(store, security: etcd.security), node: node, namespace: namespace, localAddresses: nodeAddresses,
            resyncInterval: .seconds(resyncInterval), logger: logger,
            statusHandler: status.statusHandler(then: PolicyAgentStatus.fileWriter(policyStatusFile)))
        let endpoint = try listen.map { [status.server(listen: try ListenAddress(parsing: $0), metrics: metrics, logger: logger)] } ?? []
        let group = ServiceGroup(
            configuration: .init(
                services: endpoint.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) } + [
                    .init(service: overlay, successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: PolicyAgentService(agent)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// swift-flanneld's command line: the store's lease mode, or the kube subnet manager mode.
    func flanneldArguments(interface: [String]) -> [String] {
        var arguments = ["--node", node] + interface + ["--subnet-file", subnetFile, "--resync-interval", "\(resyncInterval)"]
        if kubeSubnetMgr {
            arguments += ["--kube-subnet-mgr"]
            if let kubeconfig { arguments += ["--kubeconfig", kubeconfig] }
            if let netConfigPath { arguments += ["--net-config-path", netConfigPath] }
            if let kubeAnnotationPrefix { arguments += ["--kube-annotation-prefix", kubeAnnotationPrefix] }
        } else {
            arguments += ["--store", store, "--etcd-prefix", etcdPrefix] + etcd.arguments
        }
        return arguments + (ipMasq ? ["--ip-masq"] : [])
    }

    static func siblingExecutable(_ name: String) -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent + "/" + name
    }
}
