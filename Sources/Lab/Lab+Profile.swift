import CNISpec
import Datastore
import Foundation

/// The lab's side of a ``LabProfile``: the hooks' calls, and what the lab offers them.
extension Lab {
    /// What the profile's hooks see of this lab.
    var profileContext: LabProfileContext {
        LabProfileContext(
            lab: self, labName: name, stateDirectory: stateDirectory, store: state.store, kubeconfig: state.kubernetes?.kubeconfig,
            ipFamily: ipFamily, underlaySubnets: underlaySubnets)
    }

    /// A node as the profile's hooks see it: the subnet the lab recorded.
    func profileNode(_ node: LabState.NodeEntry) -> LabNode {
        let agent: AgentState =
            if let record = node.agent { ProcessSupervisor.isRunning(record) ? .running : .stopped } else { .none }
        return LabNode(
            index: node.index, name: node.name, networkNamespace: node.namespace,
            underlayAddress: node.underlayAddress, underlayIPv6Address: node.underlayIPv6Address, subnet: node.subnet, agent: agent)
    }

    /// The conflist the runtime runs for pods on node I (also kept in `<node>/network.conflist`).
    func networkConfiguration(node index: Int) throws -> NetworkConfigurationList {
        try profile.networkConfiguration(for: profileNode(try nodeRecord(index)), in: profileContext)
    }

    func writeNetworkConfiguration(node index: Int) throws {
        let bytes = try networkConfiguration(node: index).encoded()
        try Self.writeText(String(decoding: bytes, as: UTF8.self), to: nodeDirectory(index) + "/network.conflist")
    }

    /// Where the runtime finds the profile's plugins.
    var pluginDirectories: [String] { executableDirectories + ["/usr/lib/cni", "/opt/cni/bin"] }

    /// The last lines of a log, to quote in an error (so the reason survives the lab's removal).
    nonisolated static func logTail(_ path: String, lines: Int = 5) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return "" }
        let tail = text.split(separator: "\n").suffix(lines)
        return tail.isEmpty ? "" : "; its last lines:\n" + tail.joined(separator: "\n")
    }

    /// Polls `check` every 50 ms until it gives a value; fails when node I's agent exits or
    /// after `timeout`, quoting the agent's log.
    func waitForAgent<T: Sendable>(
        of index: Int, timeout: Duration, _ what: String, until check: () throws -> T?
    ) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let value = try check() { return value }
            if let agent = try nodeRecord(index).agent, !ProcessSupervisor.isRunning(agent) {
                throw LabError(.process, "the agent of node \(index) exited; see \(agentLogPath(index))\(Self.logTail(agentLogPath(index)))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw LabError(
            .timedOut, "node \(index)'s agent \(what) in \(timeout); see \(agentLogPath(index))\(Self.logTail(agentLogPath(index)))")
    }
}

/// What a ``LabProfile``'s hooks get from the lab: its paths and store, its nodes, and the
/// services a profile may use (waiting for an agent, the lab's static routes between nodes).
public struct LabProfileContext: Sendable {
    let lab: Lab
    /// The lab's name.
    public let labName: String
    /// The lab's state directory.
    public let stateDirectory: String
    /// The store URL the agents and plugins use: `file:DIR` or `etcd:http://192.168.77.1:2379`.
    public let store: String
    /// In a lab made with `cnilab up --kube`: the kubeconfig of the lab's API server (reachable
    /// from the nodes and the fabric namespace). A profile with a kube-native agent mode
    /// (flannel's `--kube-subnet-mgr`, calico-node reading Nodes) passes it to its agents; the
    /// project's profiles leave the API to swift-kube-sync and keep reading the store. Nil otherwise.
    public let kubeconfig: String?
    /// The lab's address families (`cnilab up --ip-family`): what the profile gives pods
    /// (flannel's `EnableIPv4`/`EnableIPv6`, an IPv6 pool for calico). With `ipv6` and `dual`
    /// every node also has an IPv6 underlay address (``LabNode/underlayIPv6Address``, on
    /// ``underlayDevice``), the lab's IPv6 pod network is ``LabProfileContext/clusterIPv6Network``.
    public let ipFamily: LabIPFamily
    /// The lab's underlay subnets (`cnilab up --underlay-subnets N`, 1 by default): node I's
    /// underlay address is ``underlayAddress(node:subnets:)``.
    public let underlaySubnets: Int

    /// The IPv4 underlay address node `node` has (or will have) in a lab of `subnets` underlay
    /// subnets: `192.168.(77 + node mod subnets).(10 + node)`.
    public static func underlayAddress(node: Int, subnets: Int) -> String {
        LabAddressing.underlayAddress(node: node, subnets: subnets)
    }

    /// What agents and plugins need beyond ``store`` to reach the lab's etcd (its CA, client
    /// certificate and key with `--etcd-tls`; nothing otherwise).
    public var etcdSecurity: EtcdSecurity {
        Lab.etcdCertificates(store: store, stateDirectory: stateDirectory)?.clientSecurity ?? .none
    }

    /// ``etcdSecurity`` as agent flags (flannel's names: `--etcd-cafile`, `--etcd-certfile`,
    /// `--etcd-keyfile`), to append after `--store`.
    public var storeArguments: [String] {
        let security = etcdSecurity
        return [("--etcd-cafile", security.certificateAuthorityFile), ("--etcd-certfile", security.certificateFile),
                ("--etcd-keyfile", security.keyFile)].flatMap { flag, value in value.map { [flag, $0] } ?? [] }
    }

    /// ``etcdSecurity`` as plugin configuration keys (Calico's names: `etcd_ca_cert_file`,
    /// `etcd_cert_file`, `etcd_key_file`), to add beside `datastore`.
    public var storeConfiguration: [String: JSONValue] {
        let security = etcdSecurity
        var keys: [String: JSONValue] = [:]
        if let file = security.certificateAuthorityFile { keys["etcd_ca_cert_file"] = .string(file) }
        if let file = security.certificateFile { keys["etcd_cert_file"] = .string(file) }
        if let file = security.keyFile { keys["etcd_key_file"] = .string(file) }
        return keys
    }

    /// The IPv6 pod network profiles use in labs with `--ip-family ipv6|dual` (the IPv6
    /// counterpart of `10.244.0.0/16`): `fd00:10:244::/56`, a /64 per node.
    public static let clusterIPv6Network = "fd00:10:244::/56"

    /// Each node's underlay link (its veth to the fabric bridge), the device agents bind to.
    public static let underlayDevice = "eth0"

    /// Node I's state directory (`<state>/nodes/I`), created before its agent starts.
    public func nodeDirectory(_ index: Int) -> String { lab.nodeDirectory(index) }

    /// Node I's agent log.
    public func agentLogPath(_ index: Int) -> String { lab.agentLogPath(index) }

    /// Where a policy-enforcing agent of node I keeps its `PolicyAgentStatus` (PolicyAgent).
    public func policyStatusPath(node index: Int) -> String { lab.policyStatusPath(node: index) }

    /// The lab's nodes (as the lab recorded them).
    public func nodes() async -> [LabNode] { await lab.recordedNodes() }

    /// Writes `key` to the lab's store.
    public func put(_ key: String, _ value: String) async throws { try await lab.storePut(key, value) }

    /// Deletes `key` from the lab's store (absent is fine).
    public func delete(_ key: String) async throws { try await lab.storeDelete(key) }

    /// Writes a file (a configuration the agents read), as a ``LabError`` on failure.
    public func writeFile(_ text: String, to path: String) throws { try Lab.writeText(text, to: path) }

    /// `command` with `{node}`, `{index}`, `{state}` and `{store}` filled in for `node`.
    public func expand(_ command: AgentCommand, node: LabNode) -> AgentCommand {
        let directory = nodeDirectory(node.index)
        let arguments = command.arguments.map {
            $0.replacingOccurrences(of: "{node}", with: node.name)
                .replacingOccurrences(of: "{index}", with: String(node.index))
                .replacingOccurrences(of: "{state}", with: directory)
                .replacingOccurrences(of: "{store}", with: store)
        }
        return AgentCommand(executable: command.executable, arguments: arguments)
    }

    /// Polls `check` every 50 ms until it returns a value: throws ``LabError`` `process` when
    /// node I's agent exits first and `timedOut` after `timeout` (both quote the agent's log;
    /// `what` completes "node I's agent …", e.g. "wrote no subnet.env"). The 60 s default
    /// bounds "never", not speed: a full parallel test run on 2 cores starved agents for over 20 s.
    public func waitForAgent<T: Sendable>(
        of index: Int, timeout: Duration = .seconds(60), _ what: String, until check: @Sendable () throws -> T?
    ) async throws -> T {
        try await lab.waitForAgent(of: index, timeout: timeout, what, until: check)
    }

    /// On every node, a route to every other node's recorded subnet via that node's underlay
    /// address (route protocol 94, host-gw style); routes to nodes that left are removed. For
    /// plugins that do not route between nodes themselves (bridge, ptp + host-local).
    public func programStaticRoutes() async throws { try await lab.programStaticRoutes() }
}
