/// The mesh as a graph of two-way connections: an edge joins two peers only when each lists
/// the other as established. Neighbour lists are sorted by name, so every traversal, and with
/// it every tie-break, is the same on every peer that holds the same entries.
struct TopologyGraph: Sendable {
    /// Sorted neighbours of every known peer (peers without two-way connections map to []).
    private(set) var neighbours: [PeerName: [PeerName]]

    init<Entries: Sequence<PeerEntry>>(entries: Entries) {
        var established: [PeerName: Set<PeerName>] = [:]
        for entry in entries { established[entry.name] = Set(entry.establishedPeers) }
        var neighbours: [PeerName: [PeerName]] = [:]
        for (peer, others) in established {
            neighbours[peer] = others.filter { other in other != peer && established[other]?.contains(peer) == true }.sorted()
        }
        self.neighbours = neighbours
    }

    /// The breadth-first tree from `root`: hop count and parent of every reachable peer. The
    /// parent is the lowest-named neighbour one hop closer to `root`.
    func shortestPathTree(from root: PeerName) -> (distance: [PeerName: Int], parent: [PeerName: PeerName]) {
        var distance: [PeerName: Int] = [root: 0]
        var parent: [PeerName: PeerName] = [:]
        var frontier = [root]
        var depth = 0
        while !frontier.isEmpty {
            depth += 1
            var next: [PeerName] = []
            // The frontier is sorted, so the first parent to reach a peer is its lowest-named one.
            for peer in frontier {
                for neighbour in neighbours[peer] ?? [] where distance[neighbour] == nil {
                    distance[neighbour] = depth
                    parent[neighbour] = peer
                    next.append(neighbour)
                }
            }
            next.sort()
            frontier = next
        }
        return (distance, parent)
    }

    /// Unicast next hops from `source`: for each reachable destination, the lowest-named
    /// neighbour of `source` that lies on a shortest path to it, with the hop count.
    func unicastRoutes(from source: PeerName) -> [PeerName: (nextHop: PeerName, hops: Int)] {
        var firstHop: [PeerName: PeerName] = [:]
        var distance: [PeerName: Int] = [source: 0]
        var frontier: [PeerName] = []
        for neighbour in neighbours[source] ?? [] {
            distance[neighbour] = 1
            firstHop[neighbour] = neighbour
            frontier.append(neighbour)
        }
        var depth = 1
        while !frontier.isEmpty {
            depth += 1
            var next: [PeerName] = []
            for peer in frontier {
                let hop = firstHop[peer]!
                for neighbour in neighbours[peer] ?? [] {
                    if let known = distance[neighbour] {
                        // Another shortest path: keep the lowest first hop of all of them.
                        if known == depth, hop < firstHop[neighbour]! { firstHop[neighbour] = hop }
                    } else {
                        distance[neighbour] = depth
                        firstHop[neighbour] = hop
                        next.append(neighbour)
                    }
                }
            }
            frontier = next
        }
        var routes: [PeerName: (nextHop: PeerName, hops: Int)] = [:]
        for (destination, hop) in firstHop { routes[destination] = (hop, distance[destination]!) }
        return routes
    }

    /// The neighbours of `peer` that are its children in the shortest-path tree from `origin`:
    /// where `peer` forwards a broadcast that `origin` started. Nil when `origin` cannot reach `peer`.
    func broadcastChildren(of peer: PeerName, origin: PeerName) -> [PeerName]? {
        let tree = shortestPathTree(from: origin)
        guard tree.distance[peer] != nil else { return nil }
        return (neighbours[peer] ?? []).filter { tree.parent[$0] == peer }
    }
}
