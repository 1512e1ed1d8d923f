/// The mesh as a graph of two-way connections: an edge joins two peers only when each lists
/// the other as established. Neighbour lists are sorted by name, so every traversal, and with
/// it every tie-break, is the same on every peer that holds the same entries.
///
/// Peers are numbered (in the order they were added) and the traversals run on those numbers
/// (arrays, not dictionaries): a route table computes one tree per origin, so this is the hot
/// path of every recalculation. Tie-breaks compare names, never numbers.
///
/// ``GossipEngine`` keeps one graph and ``update(_:)``s it as entries change: only the edges of
/// the peer whose connections changed are touched (O(its connections)), instead of a new graph
/// for every received message.
struct TopologyGraph: Sendable, Equatable {
    /// Every peer an entry was added for: a peer's number is its position.
    private var names: [PeerName] = []
    private var numbers: [PeerName: Int] = [:]
    /// What each numbered peer reports: its entry's connection list, sorted by peer name and
    /// unique, sharing its storage with the entry (the graph keeps no copy). Only established
    /// connections to another peer count as reported (`counts(_:owner:)`); peers not numbered
    /// yet are included (the edge appears when their entry arrives).
    private var reported: [[PeerConnection]] = []
    /// Neighbour numbers of every peer, sorted by name.
    private var adjacency: [[Int]] = []
    /// Changes whenever an edge appears or disappears or a peer is added: everything computed
    /// from the graph (routes, broadcast trees) holds while it stays the same.
    private(set) var generation: UInt64 = 0
    /// The reports whose other end has no entry yet or does not report back, counted for the
    /// peers that have at least one two-way connection (a dead or cut-off peer's stale entry,
    /// which nobody reports any more, does not count). Zero means the view holds no one-sided
    /// connection among connected peers: nothing is on its way (O(1) to ask).
    private(set) var unmatchedReports = 0

    /// What `peer` adds to ``unmatchedReports``.
    private func unmatched(_ peer: Int) -> Int {
        adjacency[peer].isEmpty ? 0 : reportCount(peer) - adjacency[peer].count
    }

    /// Whether `connection`, listed in `owner`'s entry, is a report: established, to another peer.
    private static func counts(_ connection: PeerConnection, owner: PeerName) -> Bool {
        connection.established && connection.peer != owner
    }

    /// How many connections `peer` reports.
    private func reportCount(_ peer: Int) -> Int {
        let owner = names[peer]
        var count = 0
        for connection in reported[peer] where Self.counts(connection, owner: owner) { count += 1 }
        return count
    }

    init<Entries: Sequence<PeerEntry>>(entries: Entries) {
        for entry in entries { update(entry) }
    }

    /// Two graphs are equal when they join the same peers (numbering aside).
    static func == (lhs: TopologyGraph, rhs: TopologyGraph) -> Bool { lhs.neighbours == rhs.neighbours }

    /// `entry`'s connections as the graph keeps them: the entry's own array when it is sorted by
    /// peer and unique (entries are normalised, and decoded ones checked, so almost always),
    /// else a normalised copy.
    private static func reported(by entry: PeerEntry) -> [PeerConnection] {
        PeerEntry.sortedUnique(entry.connections)
    }

    /// The peers `list` (of `owner`) reports, in name order.
    private static func reportedNames(_ list: [PeerConnection], owner: PeerName) -> [PeerName] {
        list.compactMap { counts($0, owner: owner) ? $0.peer : nil }
    }

    /// Adds `entry`'s peer, or takes its new connections: only the edges to the peers it adds or
    /// drops change.
    mutating func update(_ entry: PeerEntry) {
        let number: Int
        if let known = numbers[entry.name] {
            number = known
        } else {
            number = names.count
            names.append(entry.name)
            numbers[entry.name] = number
            reported.append([])
            adjacency.append([])
            generation &+= 1
        }
        let owner = entry.name
        let new = Self.reported(by: entry)
        let old = reported[number]
        let oldNames = Self.reportedNames(old, owner: owner)
        unmatchedReports -= unmatched(number)
        reported[number] = new
        let newNames = Self.reportedNames(new, owner: owner)
        unmatchedReports += unmatched(number)
        guard newNames != oldNames else { return }
        for name in oldNames where !Self.reports(new, name, owner: owner) {
            guard let other = numbers[name] else { continue }
            removeEdge(number, other)
            removeEdge(other, number)
        }
        for name in newNames where !Self.reports(old, name, owner: owner) {
            guard let other = numbers[name], Self.reports(reported[other], owner, owner: names[other]) else { continue }
            insertEdge(number, other)
            insertEdge(other, number)
        }
    }

    /// Whether `list` (of `owner`, sorted by peer) reports `peer`: binary search.
    private static func reports(_ list: [PeerConnection], _ peer: PeerName, owner: PeerName) -> Bool {
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].peer < peer { low = middle + 1 } else { high = middle }
        }
        return low < list.count && list[low].peer == peer && counts(list[low], owner: owner)
    }

    /// Where `other` is or would go in `peer`'s neighbour list (sorted by name).
    private func position(of other: Int, in peer: Int) -> Int {
        let list = adjacency[peer], name = names[other]
        var low = 0, high = list.count
        while low < high {
            let middle = (low + high) / 2
            if names[list[middle]] < name { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func insertEdge(_ peer: Int, _ other: Int) {
        let index = position(of: other, in: peer)
        guard index == adjacency[peer].count || adjacency[peer][index] != other else { return }
        unmatchedReports -= unmatched(peer)
        if adjacency[peer].count < adjacency[peer].capacity {
            adjacency[peer].insert(other, at: index)
        } else {
            // Grown by one, not doubled: every peer holds a list per peer, for as long as it runs.
            var grown: [Int] = []
            grown.reserveCapacity(adjacency[peer].count + 1)
            grown += adjacency[peer][..<index]
            grown.append(other)
            grown += adjacency[peer][index...]
            adjacency[peer] = grown
        }
        unmatchedReports += unmatched(peer)
        generation &+= 1
    }

    private mutating func removeEdge(_ peer: Int, _ other: Int) {
        let index = position(of: other, in: peer)
        guard index < adjacency[peer].count, adjacency[peer][index] == other else { return }
        unmatchedReports -= unmatched(peer)
        adjacency[peer].remove(at: index)
        unmatchedReports += unmatched(peer)
        generation &+= 1
    }

    /// The number `peer` was given (its position in the order peers were added), nil when unknown.
    func number(of peer: PeerName) -> Int? { numbers[peer] }

    /// How many peers are numbered.
    var peerCount: Int { names.count }

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

    /// Hop counts from `root` over numbers (-1: unreachable), breadth-first with one queue.
    /// With `until`, the search stops once every peer up to one hop beyond `until` has its
    /// distance (all a broadcast decision at `until` needs); farther peers stay -1.
    private func distances(from root: Int, until target: Int? = nil) -> [Int] {
        var distance = [Int](repeating: -1, count: names.count)
        distance[root] = 0
        var queue = [Int]()
        queue.reserveCapacity(names.count)
        queue.append(root)
        var head = 0
        var last = target == root ? 0 : Int.max
        while head < queue.count {
            let peer = queue[head]
            head += 1
            let depth = distance[peer]
            if depth > last { break }
            for neighbour in adjacency[peer] where distance[neighbour] < 0 {
                distance[neighbour] = depth + 1
                if neighbour == target { last = depth + 1 }
                queue.append(neighbour)
            }
        }
        return distance
    }

    /// The parent of `peer` in the tree whose hop counts are `distance`: its lowest-named
    /// neighbour one hop closer to the root (neighbour lists are sorted by name); -1 for the root.
    private func parent(of peer: Int, distance: [Int]) -> Int {
        let depth = distance[peer]
        guard depth > 0 else { return -1 }
        return adjacency[peer].first { distance[$0] == depth - 1 } ?? -1
    }

    /// The breadth-first tree from `root`: hop count and parent of every reachable peer. The
    /// parent is the lowest-named neighbour one hop closer to `root`.
    func shortestPathTree(from root: PeerName) -> (distance: [PeerName: Int], parent: [PeerName: PeerName]) {
        guard let number = numbers[root] else { return ([root: 0], [:]) }
        let distance = distances(from: number)
        var distances: [PeerName: Int] = [:]
        var parents: [PeerName: PeerName] = [:]
        for index in names.indices where distance[index] >= 0 {
            distances[names[index]] = distance[index]
            let parent = parent(of: index, distance: distance)
            if parent >= 0 { parents[names[index]] = names[parent] }
        }
        return (distances, parents)
    }

    /// The connections that peers reachable from `root` report but that are not two-way, at
    /// most `limit`, reachable peers taken by name: `wanted` is a named peer without an entry
    /// (then `near` is the peer naming it) or a reachable peer that does not report back (then
    /// `near` is that peer). A merge of each peer's sorted reports with its sorted neighbours:
    /// only the unmatched reports cost a lookup.
    func oneSidedReports(from root: PeerName, limit: Int) -> [(wanted: PeerName, near: PeerName)] {
        guard let number = numbers[root], unmatchedReports > 0 || adjacency[number].isEmpty && reportCount(number) > 0 else { return [] }
        let distance = distances(from: number)
        var result: [(wanted: PeerName, near: PeerName)] = []
        for peer in names.indices.sorted(by: { names[$0] < names[$1] }) where distance[peer] >= 0 {
            let neighbours = adjacency[peer]
            var next = 0
            for connection in reported[peer] where Self.counts(connection, owner: names[peer]) {
                let name = connection.peer
                if next < neighbours.count, names[neighbours[next]] == name { next += 1; continue }
                if let other = numbers[name] {
                    guard distance[other] >= 0 else { continue }
                    result.append((name, name))
                } else {
                    result.append((name, names[peer]))
                }
                if result.count >= limit { return result }
            }
        }
        return result
    }

    /// The peers reachable from `root` over two-way connections, `root` included.
    func reachable(from root: PeerName) -> Set<PeerName> {
        guard let number = numbers[root] else { return [root] }
        let distance = distances(from: number)
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
                        if distance[neighbour] == depth, names[hop] < names[firstHop[neighbour]] { firstHop[neighbour] = hop }
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
        let distance = distances(from: root, until: number)
        let depth = distance[number]
        guard depth >= 0 else { return nil }
        return adjacency[number].filter { distance[$0] == depth + 1 && parent(of: $0, distance: distance) == number }.map { names[$0] }
    }

    /// ``broadcastChildren(of:origin:)`` for every origin that reaches `peer` (itself
    /// included), at once. A neighbour n is `peer`'s child in the tree from origin O when it is
    /// one hop farther from O and `peer` is its lowest-named neighbour one hop closer; distances
    /// are symmetric, so trees from the peers within two hops of `peer` decide it for every
    /// origin: a few dozen traversals in a sparse mesh instead of one per origin.
    func broadcastChildrenByOrigin(of peer: PeerName) -> [PeerName: [PeerName]] {
        guard let local = numbers[peer] else { return [peer: []] }
        let count = names.count
        // Hop counts from `local`, its neighbours and theirs, in one flat table: row `slot[x]`
        // holds the distances from x (by symmetry, x's distance from every origin).
        var slot = [Int](repeating: -1, count: count)
        var rows: [Int] = []
        func addRow(_ number: Int) {
            guard slot[number] < 0 else { return }
            slot[number] = rows.count / count
            rows.append(contentsOf: distances(from: number))
        }
        addRow(local)
        for child in adjacency[local] {
            addRow(child)
            for other in adjacency[child] { addRow(other) }
        }
        let localRow = slot[local] * count
        var result: [PeerName: [PeerName]] = [:]
        result.reserveCapacity(count)
        for origin in 0..<count where rows[localRow + origin] >= 0 {
            let depth = rows[localRow + origin] + 1
            var children: [PeerName] = []
            for child in adjacency[local] where rows[slot[child] * count + origin] == depth {
                // The child's parent in the tree from `origin`: its lowest-named neighbour one hop
                // closer (neighbour lists are sorted by name).
                for other in adjacency[child] where rows[slot[other] * count + origin] == depth - 1 {
                    if other == local { children.append(names[child]) }
                    break
                }
            }
            result[names[origin]] = children
        }
        return result
    }
}
