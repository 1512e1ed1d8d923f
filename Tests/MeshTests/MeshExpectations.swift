@testable import Mesh

/// Independent answers for the simulation tests: all-pairs BFS over the simulation's links.
struct MeshExpectations {
    let adjacency: [PeerName: [PeerName]]

    init(_ simulation: MeshSimulation) {
        var adjacency: [PeerName: [PeerName]] = [:]
        for name in simulation.engines.keys {
            adjacency[name] = simulation.linkedPeers(of: name).filter { simulation.engines[$0] != nil }
        }
        self.adjacency = adjacency
    }

    func distances(from source: PeerName) -> [PeerName: Int] {
        var distance = [source: 0]
        var queue = [source]
        var index = 0
        while index < queue.count {
            let peer = queue[index]
            index += 1
            for other in adjacency[peer] ?? [] where distance[other] == nil {
                distance[other] = distance[peer]! + 1
                queue.append(other)
            }
        }
        return distance
    }

    /// Expected next hop from `source` to each reachable destination: the lowest-named
    /// neighbour that is one hop closer to it.
    func nextHops(from source: PeerName) -> [PeerName: PeerName] {
        let fromSource = distances(from: source)
        var result: [PeerName: PeerName] = [:]
        let neighbourDistances = (adjacency[source] ?? []).map { ($0, distances(from: $0)) }
        for (destination, distance) in fromSource where destination != source {
            result[destination] = neighbourDistances.filter { $0.1[destination] == distance - 1 }.map(\.0).min()
        }
        return result
    }

    /// Checks every live peer's unicast routes against all-pairs BFS; returns the mismatches.
    func unicastMismatches(_ simulation: MeshSimulation) -> [String] {
        var problems: [String] = []
        for (name, engine) in simulation.engines {
            let table = engine.routes()
            let expected = nextHops(from: name)
            let actual = table.unicast.mapValues(\.nextHop)
            if actual != expected { problems.append("\(name): expected \(expected.count) routes, got \(actual.count), differing \(expected.filter { actual[$0.key] != $0.value }.count)") }
        }
        return problems
    }

    /// Simulates one broadcast from each origin over the peers' broadcast routes; returns,
    /// per origin, how often each peer received it.
    func broadcastReceipts(_ simulation: MeshSimulation) -> [PeerName: [PeerName: Int]] {
        let tables = simulation.engines.mapValues { $0.routes() }
        var result: [PeerName: [PeerName: Int]] = [:]
        for origin in simulation.engines.keys {
            var received: [PeerName: Int] = [:]
            var queue: [(from: PeerName, to: PeerName)] = tables[origin]!.broadcastNextHops(from: origin).map { (origin, $0) }
            while let (from, to) = queue.popLast() {
                precondition(adjacency[from]?.contains(to) == true, "broadcast sent over a missing link")
                received[to, default: 0] += 1
                guard received[to] == 1 else { continue }
                queue += tables[to]!.broadcastNextHops(from: origin).map { (to, $0) }
            }
            result[origin] = received
        }
        return result
    }
}
