import Testing
@testable import Mesh

/// The all-origins broadcast computation and the reworked graph give exactly what one tree per
/// origin gives, on random graphs with one-sided and missing entries.
@Suite struct TopologyGraphEquivalenceTests {
    @Test func allOriginsAtOnceEqualsOneTreePerOrigin() {
        var random = SystemRandomNumberGenerator()
        for round in 0..<60 {
            let count = 2 + round % 25
            let names = (0..<count).map { _ in PeerName(rawValue: UInt64.random(in: 1...0xffff_ffff_ffff, using: &random))! }
            var entries: [PeerEntry] = []
            for (index, name) in names.enumerated() where index == 0 || Int.random(in: 0..<10, using: &random) > 0 {
                let connections = names.filter { $0 != name && Int.random(in: 0..<count, using: &random) < 3 }.map {
                    PeerConnection(peer: $0, remoteAddress: "", outbound: true, established: Int.random(in: 0..<8, using: &random) > 0)
                }
                entries.append(PeerEntry(identity: PeerIdentity(name: name, nickname: "", uid: 1), version: 1, shortID: .preferred(for: name), connections: connections))
            }
            // Make most connections two-way.
            for index in entries.indices {
                for connection in entries[index].connections where Int.random(in: 0..<4, using: &random) > 0 {
                    if let other = entries.firstIndex(where: { $0.name == connection.peer }),
                       !entries[other].connections.contains(where: { $0.peer == entries[index].name }) {
                        entries[other].connections.append(PeerConnection(peer: entries[index].name, remoteAddress: "", outbound: false, established: connection.established))
                    }
                }
            }
            let graph = TopologyGraph(entries: entries)
            for local in names {
                let all = graph.broadcastChildrenByOrigin(of: local)
                let reachable = graph.reachable(from: local)
                #expect(Set(all.keys) == reachable)
                for origin in names {
                    #expect(all[origin] == graph.broadcastChildren(of: local, origin: origin), "round \(round)")
                }
                for peer in names {
                    #expect(graph.neighbours(of: peer) == (graph.neighbours[peer] ?? []))
                    let twoWay = entries.first { $0.name == peer }.map { entry in
                        entry.connections.filter { connection in
                            connection.established && connection.peer != peer
                                && entries.first { $0.name == connection.peer }?.connections.contains { $0.peer == peer && $0.established } == true
                        }.map(\.peer).sorted()
                    } ?? []
                    #expect(graph.neighbours(of: peer) == twoWay)
                }
            }
        }
    }
}
