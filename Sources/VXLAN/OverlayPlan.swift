import Netlink
import NetPrimitives
import Routing

/// The kernel state the overlay owns, as read from one node: routes tagged
/// `Route.ProtocolTag.flannelOverlay` and the neighbour and FDB entries of the VTEP.
public struct OverlayState: Hashable, Sendable {
    public var routes: [Route]
    /// `ip neigh show dev flannel.1`.
    public var neighbors: [Neighbor]
    /// `bridge fdb show dev flannel.1`.
    public var forwardingEntries: [Neighbor]

    public init(routes: [Route] = [], neighbors: [Neighbor] = [], forwardingEntries: [Neighbor] = []) {
        self.routes = routes
        self.neighbors = neighbors
        self.forwardingEntries = forwardingEntries
    }
}

/// The changes that converge a node's overlay (pure result of ``OverlayReconciler/plan(peers:current:)``).
public struct OverlayPlan: Hashable, Sendable, CustomStringConvertible {
    public var routes: RoutePlan
    /// Permanent neighbour entries to set (`ip neigh replace VTEP lladdr MAC nud permanent`).
    public var neighborUpdates: [Neighbor]
    public var neighborDeletions: [Neighbor]
    /// FDB entries to set (`bridge fdb replace MAC dev flannel.1 dst IP self permanent`).
    public var forwardingUpdates: [Neighbor]
    public var forwardingDeletions: [Neighbor]

    public init(routes: RoutePlan = RoutePlan(), neighborUpdates: [Neighbor] = [], neighborDeletions: [Neighbor] = [],
                forwardingUpdates: [Neighbor] = [], forwardingDeletions: [Neighbor] = []) {
        self.routes = routes
        self.neighborUpdates = neighborUpdates
        self.neighborDeletions = neighborDeletions
        self.forwardingUpdates = forwardingUpdates
        self.forwardingDeletions = forwardingDeletions
    }

    public var isEmpty: Bool {
        routes.isEmpty && neighborUpdates.isEmpty && neighborDeletions.isEmpty
            && forwardingUpdates.isEmpty && forwardingDeletions.isEmpty
    }

    public var description: String {
        "routes \(routes), neighbours +\(neighborUpdates.count) -\(neighborDeletions.count), "
            + "fdb +\(forwardingUpdates.count) -\(forwardingDeletions.count)"
    }

    /// The plan as one batch, ordered so traffic never meets a half-programmed peer: route
    /// deletions, then neighbour/FDB deletions, then neighbour/FDB updates, then routes added
    /// or replaced.
    public func batch(device: InterfaceName) -> NetlinkRequestBatch {
        var batch = NetlinkRequestBatch()
        for route in routes.deletions { batch.deleteRoute(route) }
        for neighbor in neighborDeletions { batch.deleteNeighbor(neighbor, device: device) }
        for entry in forwardingDeletions { batch.deleteNeighbor(entry, device: device) }
        for neighbor in neighborUpdates { batch.replaceNeighbor(neighbor, device: device) }
        for entry in forwardingUpdates { batch.replaceNeighbor(entry, device: device) }
        for route in routes.replacements + routes.additions { batch.replaceRoute(route) }
        return batch
    }
}
