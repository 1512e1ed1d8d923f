/// The mesh as a graph of two-way connections: an edge joins two peers only when each lists
/// the other as established. Neighbour lists are sorted by name, so every traversal, and with
/// it every tie-break, is the same on every peer that holds the same entries.
///
/// Peers are numbered in name order and the traversals run on those numbers (arrays, not
/// dictionaries): a route table computes one tree per origin, so this is the hot path of
/// every recalculation.
struct TopologyGraph: Sendable {
    /// Every known peer, sorted: a peer's number is its position.
    private let names: [PeerName]
    private let numbers: [PeerName: Int]
    /// Sorted neighbour numbers of every peer.
    private let adjacency: [[Int]]

    init<Entries: Sequence<PeerEntry>>(entries: Entries) {
        let all = Array(entries)
        var names = all.map(\.name)
        names.sort()
        var numbers: [PeerName: Int] = [:]
        numbers.reserveCapacity(names.count)
        for (number, name) in names.enumerated() { numbers[name] = number }
        // What each peer reports as established, as sorted numbers (peers we hold no entry
        // for cannot be two-way: they report nothing).
        var reported = [[Int]](repeating: [], count: names.count)
        for entry in all {
            let number = numbers[entry.name]!
            reported[number] = entry.connections.compactMap { $0.established ? numbers[$0.peer] : nil }.sorted()
        }
        var adjacency = [[Int]](repeating: [], count: names.count)
        for number in names.indices {
            var previous = -1
            for other in reported[number] where other != number && other != previous {
                previous = other
                if Self.contains(reported[other], number) { adjacency[number].append(other) }
            }
        }
        self.names = names
        self.numbers = numbers
        self.adjacency = adjacency
    }

    /// Binary search in a sorted array.
    private static func contains(_ sorted: [Int], _ value: Int) -> Bool {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < sorted.count && sorted[low] == value
    }

    /// Sorted neighbours of every known peer (peers without two-way connections map to []).
    var neighbours: [PeerName: [PeerName]] {
        var result: [PeerName: [PeerName]] = [:]
        for (number, name) in names.enumerated() { result[name] = adjacency[number].map { names[$0] } }
        return result
    }

    /// Sorted two-way neighbours of `peer` ([] when unknown).
    func neighbours(of peer: PeerName) -> [PeerName] {
        guard let number = numbers[peer] else { return [] }
        return adjacency[number].map { names[$0] }
    }

    /// Breadth-first from `root` over numbers: distance (-1: unreachable) and parent (the
    /// lowest-numbered, hence lowest-named, neighbour one hop closer; -1 for the root).
    private func tree(from root: Int) -> (distance: [Int], parent: [Int]) {
        var distance = [Int](repeating: -1, count: names.count)
        var parent = [Int](repeating: -1, count: names.count)
        distance[root] = 0
        var frontier = [root]
        var depth = 0
        while !frontier.isEmpty {
            depth += 1
            var next: [Int] = []
            // The frontier is sorted, so the first parent to reach a peer is its lowest-named one.
            for peer in frontier {
                for neighbour in adjacency[peer] where distance[neighbour] < 0 {
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

    /// The breadth-first tree from `root`: hop count and parent of every reachable peer. The
    /// parent is the lowest-named neighbour one hop closer to `root`.
    func shortestPathTree(from root: PeerName) -> (distance: [PeerName: Int], parent: [PeerName: PeerName]) {
        guard let number = numbers[root] else { return ([root: 0], [:]) }
        let (distance, parent) = tree(from: number)
        var distances: [PeerName: Int] = [:]
        var parents: [PeerName: PeerName] = [:]
        for index in names.indices where distance[index] >= 0 {
            distances[names[index]] = distance[index]
            if parent[index] >= 0 { parents[names[index]] = names[parent[index]] }
        }
        return (distances, parents)
    }

    /// The peers reachable from `root` over two-way connections, `root` included.
    func reachable(from root: PeerName) -> Set<PeerName> {
        guard let number = numbers[root] else { return [root] }
        let distance = tree(from: number).distance
        return Set(names.indices.lazy.filter { distance[$0] >= 0 }.map { names[$0] })
    }

    /// Unicast next hops from `source`: for each reachable destination, the lowest-named
    /// neighbour of `source` that lies on a shortest path to it, with the hop count.
    func unicastRoutes(from source: PeerName) -> [PeerName: (nextHop: PeerName, hops: Int)] {
        guard let root = numbers[source] else { return [:] }
        var firstHop = [Int](repeating: -1, count: names.count)
        var distance = [Int](repeating: -1, count: names.count)
        distance[root] = 0
        var frontier: [Int] = []
        for neighbour in adjacency[root] {
            distance[neighbour] = 1
            firstHop[neighbour] = neighbour
            frontier.append(neighbour)
        }
        var depth = 1
        while !frontier.isEmpty {
            depth += 1
            var next: [Int] = []
            for peer in frontier {
                let hop = firstHop[peer]
                for neighbour in adjacency[peer] {
                    if distance[neighbour] >= 0 {
                        // Another shortest path: keep the lowest first hop of all of them.
                        if distance[neighbour] == depth, hop < firstHop[neighbour] { firstHop[neighbour] = hop }
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
        for index in names.indices where firstHop[index] >= 0 {
            routes[names[index]] = (names[firstHop[index]], distance[index])
        }
        return routes
    }

    /// The neighbours of `peer` that are its children in the shortest-path tree from `origin`:
    /// where `peer` forwards a broadcast that `origin` started. Nil when `origin` cannot reach `peer`.
    func broadcastChildren(of peer: PeerName, origin: PeerName) -> [PeerName]? {
        guard let number = numbers[peer], let root = numbers[origin] else { return peer == origin ? [] : nil }
        let parent = tree(from: root)
        guard parent.distance[number] >= 0 else { return nil }
        return adjacency[number].filter { parent.parent[$0] == number }.map { names[$0] }
    }

    /// ``broadcastChildren(of:origin:)`` for every origin that reaches `peer` (itself
    /// included), at once. A neighbour n is `peer`'s child in the tree from origin O when it is
    /// one hop farther from O and `peer` is its lowest-named neighbour one hop closer; distances
    /// are symmetric, so trees from the peers within two hops of `peer` decide it for every
    /// origin: a few dozen traversals in a sparse mesh instead of one per origin.
    func broadcastChildrenByOrigin(of peer: PeerName) -> [PeerName: [PeerName]] {
        guard let local = numbers[peer] else { return [peer: []] }
        var near: [Int: [Int]] = [:]
        func distances(_ number: Int) -> [Int] {
            if let known = near[number] { return known }
            let distance = tree(from: number).distance
            near[number] = distance
            return distance
        }
        let fromLocal = distances(local)
        let neighbourDistances = adjacency[local].map { distances($0) }
        var result: [PeerName: [PeerName]] = [:]
        for origin in names.indices where fromLocal[origin] >= 0 {
            let depth = fromLocal[origin] + 1
            var children: [PeerName] = []
            for (position, child) in adjacency[local].enumerated() where neighbourDistances[position][origin] == depth {
                // The child's parent in the tree from `origin`: its lowest-named neighbour one hop closer.
                let parent = adjacency[child].first { distances($0)[origin] == depth - 1 }
                if parent == local { children.append(names[child]) }
            }
            result[names[origin]] = children
        }
        return result
    }
}
