/// Everything an operator asks a mesh peer, as Codable values (`swift-weaved status --json`):
/// the connection node's view (connections with state and encryption, dial targets, recent
/// refusals with their reasons, counters), the topology (every known peer and its
/// connections, the unicast routes, unreachable peers) and the router's counters.
public struct MeshRouterStatus: Hashable, Sendable, Codable {
    /// Connections, targets, refusals ("why refused") and record counters.
    public var node: MeshNodeStatus
    /// Peers, routes and unreachable peers as the gossip engine sees them.
    public var topology: MeshTopologyStatus
    /// Gossip bytes, recalculations and routed messages.
    public var routing: MeshRouterCounters

    public init(node: MeshNodeStatus, topology: MeshTopologyStatus, routing: MeshRouterCounters) {
        self.node = node
        self.topology = topology
        self.routing = routing
    }
}
