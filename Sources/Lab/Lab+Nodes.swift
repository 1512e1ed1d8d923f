#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Namespaces
import NetPrimitives
import Netlink

extension Lab {
    /// The lab's nodes, with whether each agent runs.
    public func nodes() -> [LabNode] {
        state.nodes.map { node in
            let agent: AgentState =
                if let record = node.agent { ProcessSupervisor.isRunning(record) ? .running : .stopped } else { .none }
            // calico: the node's affine blocks as its agent announces them (they change with pods).
            let subnet = if case .calico = state.plugin { Self.calicoSubnet(inNamespace: node.namespace) } else { node.subnet }
            return LabNode(
                index: node.index, name: node.name, networkNamespace: node.namespace,
                underlayAddress: node.underlayAddress, subnet: subnet, agent: agent)
        }
    }

    /// The overview `cnilab status` prints.
    public func status() -> LabStatus {
        LabStatus(lab: name, plugin: state.plugin.name, store: state.store, nodes: nodes(), pods: state.pods.count)
    }

    /// A node joins: its namespace, its veth to the fabric, its agent, and (reference
    /// profile) routes to and from the other nodes. Returns the new node.
    @discardableResult
    public func addNode() async throws -> LabNode {
        let index = (state.nodes.map(\.index).max() ?? -1) + 1
        return try await addNode(index: index)
    }

    func addNode(index: Int) async throws -> LabNode {
        guard index < LabAddressing.maximumNodes else { throw LabError(.invalidArgument, "too many nodes") }
        let namespaceName = LabNames.node(lab: name, index: index)
        let underlay = LabAddressing.underlayAddress(node: index)
        let record = LabState.NodeRecord(
            index: index, name: "node-\(index)", namespace: namespaceName, underlayAddress: underlay)
        state.nodes.append(record)
        try recordNamespace(namespaceName)
        do {
            let node = try Self.createNamespace(namespaceName)
            let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
            try Self.kernel("attaching \(namespaceName) to the fabric") {
                let fabricLinks = try NetlinkHandle(namespace: fabric)
                let port = try InterfaceName("n\(index)")
                try fabricLinks.addLink(.veth(port, peer: "eth0", peerNamespace: node, mtu: LabAddressing.underlayMTU))
                try fabricLinks.setMaster("br0", of: port)
                try fabricLinks.setLinkUp(port)
                let links = try NetlinkHandle(namespace: node)
                try links.addAddress(
                    Address(try IPNetwork(parsing: "\(underlay)/\(LabAddressing.underlayPrefixLength)")), device: "eth0")
                try links.setLinkUp("eth0")
                try links.setIPForwarding(true)
            }
            try Self.makeDirectory(nodeDirectory(index))
            try writeNetworkConfiguration(node: index)
            if case .reference = state.plugin { setSubnet(LabAddressing.referenceSubnet(node: index), node: index) }
            try save()
            try await startAgent(index)
            switch state.plugin {
            case .flannel, .canal: try await waitForFlannelSubnet(node: index)
            case .calico: try await waitForCalicoAgent(node: index)
            case .reference: break
            }
            try writeNetworkConfiguration(node: index)
            if case .reference = state.plugin { try programReferenceRoutes() }
            try save()
        } catch {
            // Roll back (agent, lease, namespace, record), so `node add` can be tried again.
            try? await removeNode(index)
            throw error
        }
        return nodes().first { $0.index == index }!
    }

    /// A node leaves: its agent is stopped, its lease deleted from the store (flannel) or its
    /// routes removed from the others (reference), its pods and namespace removed.
    public func removeNode(_ index: Int) async throws {
        let node = try nodeRecord(index)
        if let agent = node.agent { ProcessSupervisor.stop(agent) }
        forgetProcess(node.agent)
        for pod in state.pods where pod.node == index { try? await deletePod(try PodReference(namespace: pod.namespace, name: pod.name)) }
        try await nodeLeft(node)
        if let namespace = try? NetworkNamespace.open(name: node.namespace) { ProcessSupervisor.killAll(in: namespace) }
        try? NetworkNamespace.delete(name: node.namespace)
        state.nodes.removeAll { $0.index == index }
        state.namespaces.removeAll { $0 == node.namespace }
        try save()
        if case .reference = state.plugin { try programReferenceRoutes() }
    }

    // MARK: - Agents

    /// Starts node I's agent (no-op when it runs or the profile has none).
    public func startAgent(_ index: Int) async throws {
        let node = try nodeRecord(index)
        if let agent = node.agent, ProcessSupervisor.isRunning(agent) { return }
        guard let command = try agentCommand(node: node) else { return }
        let executable = try findExecutable(command.executable)
        let namespace = try Self.openNamespace(node.namespace)
        let record = try ProcessSupervisor.launch(
            role: "agent", executable: executable, arguments: command.arguments, in: namespace,
            namespaceName: node.namespace, log: agentLogPath(index))
        forgetProcess(node.agent)
        updateNode(index) { $0.agent = record }
        try recordProcess(record)
    }

    /// Stops node I's agent gracefully (SIGTERM, SIGKILL after the grace period). A calico
    /// agent sends a NOTIFICATION Cease to every peer, which withdraw its blocks at once.
    public func stopAgent(_ index: Int, graceMilliseconds: Int = 5_000) throws {
        let node = try nodeRecord(index)
        if let agent = node.agent { ProcessSupervisor.stop(agent, graceMilliseconds: graceMilliseconds) }
    }

    /// Kills node I's agent with SIGKILL, as a crash would. A calico agent's peers keep its
    /// routes (stale) for the graceful-restart time, then sweep them unless it came back.
    public func killAgent(_ index: Int) throws {
        let node = try nodeRecord(index)
        if let agent = node.agent { ProcessSupervisor.stop(agent, signal: SIGKILL) }
    }

    /// The path of node I's agent log.
    public nonisolated func agentLogPath(_ index: Int) -> String { nodeDirectory(index) + "/agent.log" }

    nonisolated func nodeDirectory(_ index: Int) -> String { stateDirectory + "/nodes/\(index)" }

    func nodeRecord(_ index: Int) throws -> LabState.NodeRecord {
        guard let node = state.nodes.first(where: { $0.index == index }) else {
            throw LabError(.notFound, "no node \(index) in lab '\(name)' (nodes: \(state.nodes.map(\.index)))")
        }
        return node
    }

    func updateNode(_ index: Int, _ change: (inout LabState.NodeRecord) -> Void) {
        if let position = state.nodes.firstIndex(where: { $0.index == index }) { change(&state.nodes[position]) }
    }

    func setSubnet(_ subnet: String, node index: Int) { updateNode(index) { $0.subnet = subnet } }

    // MARK: - Reference profile routes (host-gw style, programmed by the lab)

    /// On every node, a route to every other node's subnet via that node's underlay address;
    /// routes to nodes that left are removed.
    func programReferenceRoutes() throws {
        let tag = Route.ProtocolTag(LabAddressing.referenceRouteProtocol)
        for node in state.nodes {
            let namespace = try Self.openNamespace(node.namespace)
            try Self.kernel("routes on \(node.namespace)") {
                let netlink = try NetlinkHandle(namespace: namespace)
                var wanted: [IPNetwork: IPAddress] = [:]
                for other in state.nodes where other.index != node.index {
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
    /// The route protocol number of the reference profile's static routes (`ip route … proto 94`).
    static let referenceRouteProtocol: UInt8 = 94
}
