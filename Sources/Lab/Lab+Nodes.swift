#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Namespaces
import NetPrimitives
import Netlink

extension Lab {
    /// The lab's nodes, with whether each agent runs; `subnet` as the profile reports it
    /// (``LabProfile/reportedSubnet(of:)``).
    public func nodes() -> [LabNode] {
        recordedNodes().map { node in
            var node = node
            node.subnet = profile.reportedSubnet(of: node)
            return node
        }
    }

    /// The lab's nodes with the subnets the lab recorded.
    func recordedNodes() -> [LabNode] { state.nodes.map(profileNode) }

    /// The overview `cnilab status` prints.
    public func status() -> LabStatus {
        LabStatus(lab: name, plugin: state.plugin.kind, store: state.store, nodes: nodes(), pods: state.pods.count, ipFamily: ipFamily)
    }

    /// A node joins: its namespace, its veth to the fabric, its agent (started and waited for
    /// as the profile says), then the profile's ``LabProfile/nodesChanged(_:)``. Returns the new node.
    @discardableResult
    public func addNode() async throws -> LabNode {
        let index = (state.nodes.map(\.index).max() ?? -1) + 1
        return try await addNode(index: index)
    }

    func addNode(index: Int) async throws -> LabNode {
        guard index < LabAddressing.maximumNodes else { throw LabError(.invalidArgument, "too many nodes") }
        let namespaceName = LabNames.node(lab: name, index: index)
        let underlay = LabAddressing.underlayAddress(node: index, subnets: underlaySubnets)
        let underlay6 = ipFamily.hasIPv6 ? LabAddressing.underlayIPv6Address(node: index, subnets: underlaySubnets) : nil
        let record = LabState.NodeEntry(
            index: index, name: "node-\(index)", namespace: namespaceName, underlayAddress: underlay, underlayIPv6Address: underlay6)
        state.nodes.append(record)
        try recordNamespace(namespaceName)
        do {
            let node = try Self.createNamespace(namespaceName)
            try attachToUnderlay(node: index, namespace: node, address: underlay, ipv6Address: underlay6)
            try Self.makeDirectory(nodeDirectory(index))
            if let subnet = try profile.initialSubnet(of: profileNode(try nodeRecord(index)), in: profileContext) {
                setSubnet(subnet, node: index)
            }
            try save()
            try await registerKubernetesNode(index)
            try await startAgent(index)
            if let subnet = try await profile.waitUntilReady(profileNode(try nodeRecord(index)), in: profileContext) {
                setSubnet(subnet, node: index)
            }
            try writeNetworkConfiguration(node: index)
            try save()
            try await profile.nodesChanged(profileContext)
            try save()
        } catch {
            // Roll back (agent, lease, namespace, record), so `node add` can be tried again.
            try? await removeNode(index)
            throw error
        }
        return nodes().first { $0.index == index }!
    }

    /// A node leaves: its agent is stopped, its pods removed, the profile's
    /// ``LabProfile/nodeLeft(_:in:)`` (e.g. flannel's lease deleted from the store), every
    /// record of the node released from the store as a controller would (`releaseNodeRecords(_:)`:
    /// blocks, affinities, leases, pod and node records), its namespace removed, then the
    /// profile's ``LabProfile/nodesChanged(_:)``.
    public func removeNode(_ index: Int) async throws {
        let node = try nodeRecord(index)
        if let agent = node.agent { ProcessSupervisor.stop(agent) }
        forgetProcess(node.agent)
        for pod in state.pods where pod.node == index { try? await deletePod(try PodReference(namespace: pod.namespace, name: pod.name)) }
        try await profile.nodeLeft(profileNode(node), in: profileContext)
        try releaseNodeRecords(node.name)
        await unregisterKubernetesNode(node.name)
        if let namespace = try? NetworkNamespace.open(name: node.namespace) { ProcessSupervisor.killAll(in: namespace) }
        try? NetworkNamespace.delete(name: node.namespace)
        state.nodes.removeAll { $0.index == index }
        state.namespaces.removeAll { $0 == node.namespace }
        try save()
        try await profile.nodesChanged(profileContext)
    }

    // MARK: - Agents

    /// Starts node I's agent (no-op when it runs or the profile has none).
    public func startAgent(_ index: Int) async throws {
        let node = try nodeRecord(index)
        if let agent = node.agent, ProcessSupervisor.isRunning(agent) { return }
        guard let command = try profile.agentCommand(for: profileNode(node), in: profileContext) else { return }
        let executable = try findExecutable(command.executable)
        let namespace = try Self.openNamespace(node.namespace)
        let record = try ProcessSupervisor.launch(
            role: "agent", executable: executable, arguments: command.arguments, in: namespace,
            namespaceName: node.namespace, log: agentLogPath(index))
        forgetProcess(node.agent)
        updateNode(index) { $0.agent = record }
        try recordProcess(record)
    }

    /// Stops node I's agent gracefully (SIGTERM, SIGKILL after the grace period).
    public func stopAgent(_ index: Int, graceMilliseconds: Int = 5_000) throws {
        let node = try nodeRecord(index)
        if let agent = node.agent { ProcessSupervisor.stop(agent, graceMilliseconds: graceMilliseconds) }
    }

    /// Kills node I's agent with SIGKILL, as a crash would.
    public func killAgent(_ index: Int) throws {
        let node = try nodeRecord(index)
        if let agent = node.agent { ProcessSupervisor.stop(agent, signal: SIGKILL) }
    }

    /// The path of node I's agent log.
    public nonisolated func agentLogPath(_ index: Int) -> String { nodeDirectory(index) + "/agent.log" }

    nonisolated func nodeDirectory(_ index: Int) -> String { stateDirectory + "/nodes/\(index)" }

    /// The index of the node named by `reference`: its index (`3`) or its name (`node-3`).
    public func nodeIndex(_ reference: String) throws -> Int {
        if let node = state.nodes.first(where: { $0.name == reference || String($0.index) == reference }) { return node.index }
        throw LabError(.notFound, "no node \(reference) in lab '\(name)' (nodes: \(state.nodes.map(\.name)))")
    }

    func nodeRecord(_ index: Int) throws -> LabState.NodeEntry {
        guard let node = state.nodes.first(where: { $0.index == index }) else {
            throw LabError(.notFound, "no node \(index) in lab '\(name)' (nodes: \(state.nodes.map(\.index)))")
        }
        return node
    }

    func updateNode(_ index: Int, _ change: (inout LabState.NodeEntry) -> Void) {
        if let position = state.nodes.firstIndex(where: { $0.index == index }) { change(&state.nodes[position]) }
    }

    func setSubnet(_ subnet: String, node index: Int) { updateNode(index) { $0.subnet = subnet } }

    // MARK: - Static routes between the nodes (host-gw style, programmed by the lab)

    /// On every node, a route to every other node's subnet via that node's underlay address
    /// (only to nodes on the same underlay subnet: a gateway must be on-link, and the lab's
    /// router does not route pod networks); routes to nodes that left are removed (``LabProfileContext/programStaticRoutes()``).
    func programStaticRoutes() throws {
        let tag = Route.ProtocolTag(LabAddressing.staticRouteProtocol)
        for node in state.nodes {
            let namespace = try Self.openNamespace(node.namespace)
            try Self.kernel("routes on \(node.namespace)") {
                let netlink = try NetlinkHandle(namespace: namespace)
                var wanted: [IPNetwork: IPAddress] = [:]
                for other in state.nodes where other.index != node.index && shareUnderlaySubnet(node.index, other.index) {
                    if let subnet = other.subnet { wanted[try IPNetwork(parsing: subnet)] = try IPAddress(parsing: other.underlayAddress) }
                }
                for route in try netlink.routes(family: .v4, protocolTag: tag) where wanted[route.destination] == nil {
                    _ = try netlink.deleteRouteIfPresent(route)
                }
                for (destination, gateway) in wanted {
                    try netlink.replaceRoute(Route(destination: destination, gateway: gateway, device: "eth0", protocolTag: tag))
                }
            }
        }
    }
}

extension LabAddressing {
    /// The route protocol number of the lab's static routes between nodes (`ip route … proto 94`).
    static let staticRouteProtocol: UInt8 = 94
}
