import NIOCore
import Testing
@testable import Mesh

/// Routes are recalculated only when the two-way graph changed: gossip that changes one end of
/// a connection (or an address) is noted but costs no recalculation, while a new or lost edge
/// always gets one. The "view incomplete" check is cached the same way.
@Suite struct RouterRecalculationTests {
    let n = RouterCoreNetwork.name

    /// `owner`'s entry one version up, also listing an established connection to `peer`.
    static func entry(of core: RouterCore, _ owner: PeerName, adding peer: PeerName) -> PeerEntry {
        let entry = core.engine.entries[owner]!
        let connection = PeerConnection(peer: peer, remoteAddress: "10.0.0.9:6783", outbound: true, established: true)
        return PeerEntry(identity: entry.identity, version: entry.version + 1, shortID: entry.shortID, connections: entry.connections + [connection])
    }

    static func payload(_ entries: [PeerEntry]) throws -> [UInt8] {
        Array(try GossipMessage(entries: entries).encoded().readableBytesView)
    }

    @Test func oneSidedChangeIsNotRecalculatedButANewEdgeIs() throws {
        var network = RouterCoreNetwork(count: 3)
        network.connect(0, 1)
        network.connect(1, 2)
        network.settle()
        var core = network.cores[n(0)]!
        let recalculations = core.counters.recalculations
        let routes = core.routes
        #expect(core.currentMissingGossipHint() == nil)

        // 2 reports a connection to 0 that 0 does not: a topology change, the same two-way graph.
        var now = network.now
        _ = core.received(channel: MeshRouter.topologyChannel, payload: try Self.payload([Self.entry(of: core, n(2), adding: n(0))]), from: n(1), now: now)
        #expect(core.deadline != nil)
        now = now.advanced(by: .seconds(1))
        #expect(core.tick(now: now).isEmpty)
        #expect(core.counters.recalculations == recalculations)
        #expect(core.routes == routes)
        // The view is incomplete now (2 lists a connection to us that we do not report), and the
        // cached check says so, as the full check does.
        #expect(core.currentMissingGossipHint() != nil)
        #expect(core.currentMissingGossipHint() == core.missingGossipHint())

        // 0 reports it too: the edge 0–2 appears and the routes follow.
        _ = core.connectionEstablished(peer: n(2), address: RouterCoreNetwork.address(2), outbound: false, now: now)
        now = now.advanced(by: .seconds(1))
        let actions = core.tick(now: now)
        #expect(core.counters.recalculations == recalculations + 1)
        #expect(core.routes.unicast[n(2)]?.hops == 1)
        #expect(core.routes.nextHop(to: n(2)) == n(2))
        let published = actions.compactMap { action -> RouteTableDiff? in
            if case .routesChanged(let diff) = action { return diff }
            return nil
        }
        #expect(published.count == 1 && published.first?.unicastChanged[n(2)] == n(2))
        #expect(core.currentMissingGossipHint() == nil)
        #expect(core.currentMissingGossipHint() == core.missingGossipHint())
    }

    @Test func lostEdgeAndNewPeerAreRecalculated() throws {
        var network = RouterCoreNetwork(count: 3)
        network.connect(0, 1)
        network.connect(1, 2)
        network.settle()
        let recalculations = network.cores[n(0)]!.counters.recalculations
        network.disconnect(1, 2)
        network.settle()
        #expect(network.cores[n(0)]!.counters.recalculations == recalculations + 1)
        #expect(network.cores[n(0)]!.routes.nextHop(to: n(2)) == nil)
        #expect(network.cores[n(0)]!.routes.unreachable == [n(2)])

        // A peer heard of for the first time, with no two-way connection yet: listed unreachable.
        var core = network.cores[n(0)]!
        let stranger = PeerEntry(
            identity: PeerIdentity(name: n(9), nickname: "stranger", uid: 99), version: 1, shortID: .preferred(for: n(9)),
            connections: [PeerConnection(peer: n(1), remoteAddress: "10.0.0.1:6783", outbound: true, established: true)])
        _ = core.received(channel: MeshRouter.topologyChannel, payload: try Self.payload([stranger]), from: n(1), now: network.now)
        _ = core.tick(now: network.now.advanced(by: .seconds(1)))
        #expect(core.counters.recalculations == recalculations + 2)
        #expect(core.routes.unreachable == [n(2), n(9)])
    }

    /// A gap in the view is repaired aimed first (the missing entry asked for from the neighbour
    /// on the way to the peer that names it), then with a digest.
    @Test func repairAsksForTheMissingEntryFirst() throws {
        var network = RouterCoreNetwork(count: 3)
        network.connect(0, 1)
        network.connect(1, 2)
        network.settle()
        var core = network.cores[n(0)]!
        #expect(core.repair(attempt: 0).isEmpty)
        // 2 now lists an established connection to 9, whose entry we never got.
        _ = core.received(channel: MeshRouter.topologyChannel, payload: try Self.payload([Self.entry(of: core, n(2), adding: n(9))]), from: n(1), now: network.now)
        _ = core.tick(now: network.now.advanced(by: .seconds(1)))
        #expect(core.gossipGaps() == [RouterCore.GossipGap(wanted: n(9), near: n(2))])
        #expect(core.currentMissingGossipHint() == n(2))

        func sent(_ actions: [RouterCore.Action]) throws -> [(PeerName, GossipMessage)] {
            try actions.compactMap { action in
                guard case .send(let peer, _, let payload) = action else { return nil }
                return (peer, try GossipMessage(decoding: ByteBuffer(bytes: payload)))
            }
        }
        let aimed = try sent(core.repair(attempt: 0))
        #expect(aimed.count == 1 && aimed.first?.0 == n(1))
        #expect(aimed.first?.1.wants == [n(9)] && aimed.first?.1.digest == nil)
        let digest = try sent(core.repair(attempt: 1))
        #expect(digest.count == 1 && digest.first?.0 == n(1))
        #expect(digest.first?.1.digest?.count == 3)
    }
}
