import Foundation
import NIOCore
import Testing
@testable import Mesh

/// What the 300-peer cold start got cheaper by (Documentation/Performance-Mesh.md, round 5):
/// batched gossip leaves out what a neighbour is known to hold, patches are merged instead of
/// rebuilt through dictionaries, and a connection takes 24 bytes. Each must keep the behaviour.
@Suite struct NeighbourHoldersTests {
    static let a = RouterCoreNetwork.name(1), b = RouterCoreNetwork.name(2), x = RouterCoreNetwork.name(9)

    static func entry(_ owner: PeerName, version: UInt64, uid: UInt64 = 7, peers: [PeerName]) -> PeerEntry {
        PeerEntry(identity: PeerIdentity(name: owner, nickname: "x", uid: uid), version: version, shortID: ShortID(rawValue: 9)!,
                  connections: peers.map { PeerConnection(peer: $0, remoteAddress: "10.0.0.1:6783", outbound: true, established: true) })
    }

    /// An engine connected to `a` and `b`.
    static func engine() -> GossipEngine {
        var engine = GossipEngine(identity: PeerIdentity(name: RouterCoreNetwork.name(0), nickname: "local", uid: 1))
        _ = engine.setLocalConnections([a, b].map { PeerConnection(peer: $0, remoteAddress: "10.0.0.2:6783", outbound: true, established: true) })
        return engine
    }

    @Test func aNeighbourHoldsWhatItSentUntilTheVersionChanges() {
        var engine = Self.engine()
        _ = engine.receive(GossipMessage(entries: [Self.entry(Self.x, version: 2, peers: [Self.a])]), from: Self.a)
        #expect(engine.neighbour(Self.a, holds: Self.x, version: 2))
        #expect(engine.neighbour(Self.a, holds: Self.x, version: 1), "an older version is covered by the one it holds")
        #expect(!engine.neighbour(Self.b, holds: Self.x, version: 2))
        // b sends the same version: now both hold it.
        _ = engine.receive(GossipMessage(entries: [Self.entry(Self.x, version: 2, peers: [Self.a])]), from: Self.b)
        #expect(engine.neighbour(Self.b, holds: Self.x, version: 2))
        // A newer version from b: a holds only the old one.
        _ = engine.receive(GossipMessage(entries: [Self.entry(Self.x, version: 3, peers: [Self.a, Self.b])]), from: Self.b)
        #expect(!engine.neighbour(Self.a, holds: Self.x, version: 3))
        #expect(engine.neighbour(Self.b, holds: Self.x, version: 3))
    }

    @Test func askingForAnEntryOrAnOlderDigestOrReconnectingForgetsIt() {
        var engine = Self.engine()
        let held = Self.entry(Self.x, version: 2, peers: [Self.a])
        _ = engine.receive(GossipMessage(entries: [held]), from: Self.a)
        _ = engine.receive(GossipMessage(entries: [held]), from: Self.b)
        _ = engine.receive(GossipMessage(wants: [Self.x]), from: Self.a)
        #expect(!engine.neighbour(Self.a, holds: Self.x, version: 2), "a asked for it")
        let older = PeerDigest(name: Self.x, uid: 7, version: 1)
        _ = engine.receive(GossipMessage(digest: [older]), from: Self.b)
        #expect(!engine.neighbour(Self.b, holds: Self.x, version: 2), "b's digest lists an older version")
        _ = engine.receive(GossipMessage(digest: [held.digest]), from: Self.b)
        #expect(engine.neighbour(Self.b, holds: Self.x, version: 2), "b's digest lists the version we hold")
        // b goes away and comes back (maybe restarted): nothing is assumed about it.
        _ = engine.setLocalConnections([PeerConnection(peer: Self.a, remoteAddress: "10.0.0.2:6783", outbound: true, established: true)])
        _ = engine.setLocalConnections([Self.a, Self.b].map { PeerConnection(peer: $0, remoteAddress: "10.0.0.2:6783", outbound: true, established: true) })
        #expect(!engine.neighbour(Self.b, holds: Self.x, version: 2))
    }

    @Test func theLocalEntryRaisedInPlaceIsNotAssumedHeld() {
        var engine = Self.engine()
        let local = engine.localEntry
        engine.noteSent(GossipMessage(entries: [local]), to: Self.a)
        #expect(engine.neighbour(Self.a, holds: local.name, version: local.version))
        // Someone holds a later version of us (an old incarnation): ours is raised past it.
        var stale = local
        stale.version += 5
        stale.identity.uid += 1
        _ = engine.receive(GossipMessage(entries: [stale]), from: Self.b)
        #expect(engine.localEntry.version > stale.version)
        #expect(!engine.neighbour(Self.a, holds: local.name, version: engine.localEntry.version))
    }

    @Test func aBatchLeavesOutWhatTheNeighbourSentMeanwhile() throws {
        // 0 is linked to 1 and 2; 1 sends x's entry; while 0's batch for 2 waits, 2 sends the
        // same version: the batch for 2 no longer carries it.
        var core = RouterBatchingTests.core(0, connectionDelay: .zero)
        let now = ContinuousClock.now
        for peer in [Self.a, Self.b] {
            _ = core.connectionEstablished(peer: peer, address: RouterCoreNetwork.address(Int(peer.rawValue & 0xff)), outbound: true, now: now)
        }
        _ = core.tick(now: now.advanced(by: .milliseconds(20)))
        let entry = Self.entry(Self.x, version: 2, peers: [Self.a, Self.b])
        let payload = Array(try GossipMessage(entries: [entry]).encoded().readableBytesView)
        let later = now.advanced(by: .milliseconds(30))
        #expect(RouterBatchingTests.sends(core.received(channel: MeshRouter.topologyChannel, payload: payload, from: Self.a, now: later)).isEmpty)
        _ = core.received(channel: MeshRouter.topologyChannel, payload: payload, from: Self.b, now: later)
        let sent = RouterBatchingTests.sends(core.tick(now: later.advanced(by: .milliseconds(20))))
        for send in sent {
            let message = try GossipMessage(decoding: ByteBuffer(bytes: send.payload))
            #expect(!message.entries.contains { $0.name == Self.x } && !message.patches.contains { $0.name == Self.x },
                    "\(send.peer) already holds x's entry")
        }
    }

    @Test func patchesMergeAsTheDictionaryRebuildDid() throws {
        var random = SplitMix64(seed: 42)
        let pool = (1...12).map(RouterCoreNetwork.name)
        func connections() -> [PeerConnection] {
            pool.filter { _ in random.next() % 2 == 0 }.map {
                PeerConnection(peer: $0, remoteAddress: "10.0.0.\(random.next() % 3):6783", outbound: random.next() % 2 == 0, established: random.next() % 3 != 0)
            }
        }
        for _ in 0..<500 {
            let old = Self.entry(Self.x, version: 3, peers: []), new = Self.entry(Self.x, version: 4, peers: [])
            var before = old, after = new
            before.connections = PeerEntry.normalised(connections())
            after.connections = PeerEntry.normalised(connections())
            let patch = try #require(PeerEntryPatch(from: before, to: after))
            #expect(patch.applied(to: before) == after)
            // The reference: the change as sets of peers.
            let kept = Dictionary(uniqueKeysWithValues: before.connections.map { ($0.peer, $0) })
            #expect(patch.upserted == after.connections.filter { kept[$0.peer] != $0 })
            #expect(patch.removed == before.connections.map(\.peer).filter { peer in !after.connections.contains { $0.peer == peer } })
        }
    }

    @Test func aConnectionTakes24BytesAndKeepsItsJSON() throws {
        #expect(MemoryLayout<PeerConnection>.stride == 24)
        var connection = PeerConnection(peer: Self.x, remoteAddress: "192.0.2.7:6783", outbound: true, established: false)
        #expect(connection.peer == Self.x && connection.outbound && !connection.established)
        connection.established = true
        connection.outbound = false
        connection.peer = Self.a
        #expect(connection.peer == Self.a && !connection.outbound && connection.established)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(connection)) as? [String: Any]
        #expect(json?["peer"] as? String == Self.a.description)
        #expect(json?["remoteAddress"] as? String == "192.0.2.7:6783")
        #expect(json?["outbound"] as? Bool == false && json?["established"] as? Bool == true)
        #expect(try JSONDecoder().decode(PeerConnection.self, from: JSONEncoder().encode(connection)) == connection)
    }
}
