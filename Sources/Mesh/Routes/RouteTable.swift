/// Where the data path sends traffic from the local peer: the unicast next hop towards each
/// reachable peer and, for broadcasts, the neighbours to forward to per origin. A value: the
/// runtime computes a new one after topology changes and publishes ``RouteTableDiff``s.
public struct RouteTable: Hashable, Sendable, Codable {
    /// One unicast route.
    public struct Route: Hashable, Sendable, Codable {
        public var destination: PeerName
        /// The directly connected peer to hand packets for ``destination`` to.
        public var nextHop: PeerName
        /// Connections on the path (1 for a neighbour).
        public var hops: Int

        public init(destination: PeerName, nextHop: PeerName, hops: Int) {
            self.destination = destination
            self.nextHop = nextHop
            self.hops = hops
        }
    }

    /// The peer these routes belong to.
    public var localPeer: PeerName
    /// Next hop per reachable destination (the local peer itself excluded).
    public var unicast: [PeerName: Route]
    /// For each origin whose broadcasts reach the local peer (itself included): the neighbours
    /// to forward them to, sorted; empty for a leaf of that origin's tree. Every reachable peer
    /// receives each broadcast exactly once.
    public var broadcast: [PeerName: [PeerName]]
    /// Peers that are known from gossip but not reachable over two-way connections, sorted.
    public var unreachable: [PeerName]

    public init(localPeer: PeerName, unicast: [PeerName: Route] = [:], broadcast: [PeerName: [PeerName]] = [:], unreachable: [PeerName] = []) {
        self.localPeer = localPeer
        self.unicast = unicast
        self.broadcast = broadcast
        self.unreachable = unreachable
    }

    /// The neighbour to send a packet for `destination` to; nil when unreachable (or local).
    public func nextHop(to destination: PeerName) -> PeerName? { unicast[destination]?.nextHop }

    /// The neighbours to forward a broadcast from `origin` to (the local peer's own broadcasts:
    /// `origin == localPeer`); empty when it goes no further or `origin` is unreachable.
    public func broadcastNextHops(from origin: PeerName) -> [PeerName] { broadcast[origin] ?? [] }

    /// The unicast routes sorted by destination (for status and logs).
    public var sortedRoutes: [Route] { unicast.values.sorted { $0.destination < $1.destination } }

    /// What changed from `old` to `self`.
    public func changes(since old: RouteTable) -> RouteTableDiff {
        var diff = RouteTableDiff()
        for (destination, route) in unicast where old.unicast[destination]?.nextHop != route.nextHop {
            diff.unicastChanged[destination] = route.nextHop
        }
        for destination in old.unicast.keys where unicast[destination] == nil {
            diff.unicastRemoved.append(destination)
        }
        diff.unicastRemoved.sort()
        for (origin, hops) in broadcast where old.broadcast[origin] != hops {
            diff.broadcastChanged[origin] = hops
        }
        for origin in old.broadcast.keys where broadcast[origin] == nil {
            diff.broadcastRemoved.append(origin)
        }
        diff.broadcastRemoved.sort()
        return diff
    }
}

/// The changes between two ``RouteTable``s, as the data path applies them.
public struct RouteTableDiff: Hashable, Sendable, Codable {
    /// Destinations with a new or different next hop.
    public var unicastChanged: [PeerName: PeerName] = [:]
    /// Destinations no longer reachable (sorted).
    public var unicastRemoved: [PeerName] = []
    /// Origins whose broadcast forwarding set is new or different.
    public var broadcastChanged: [PeerName: [PeerName]] = [:]
    /// Origins whose broadcasts no longer reach us (sorted).
    public var broadcastRemoved: [PeerName] = []

    public init() {}

    /// True when the routes did not change (nothing to publish). Hop counts alone do not count.
    public var isEmpty: Bool {
        unicastChanged.isEmpty && unicastRemoved.isEmpty && broadcastChanged.isEmpty && broadcastRemoved.isEmpty
    }
}

extension TopologyGraph {
    /// The route table of `local` over this graph; `known` lists every peer known from gossip.
    func routeTable<Known: Sequence<PeerName>>(for local: PeerName, known: Known) -> RouteTable {
        var table = RouteTable(localPeer: local)
        for (destination, route) in unicastRoutes(from: local) {
            table.unicast[destination] = RouteTable.Route(destination: destination, nextHop: route.nextHop, hops: route.hops)
        }
        var reachable = Set(table.unicast.keys)
        reachable.insert(local)
        // One tree per origin; the local peer forwards to its children in it (all origins at once).
        let children = broadcastChildrenByOrigin(of: local)
        for origin in reachable {
            table.broadcast[origin] = children[origin] ?? []
        }
        table.unreachable = known.filter { !reachable.contains($0) }.sorted()
        return table
    }
}
