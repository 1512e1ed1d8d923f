#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datastore
import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

/// A ring peer on the file store: what it saved comes back after a restart; corrupt records
/// are errors naming their key. Status and messages round-trip as JSON.
@Suite struct RingPersistenceTests {
    /// Three initialised peers with 20 allocations on peer 0.
    static func cluster() throws -> RingNetwork {
        var network = try RingConsensusTests.network(peers: 3, initial: 3, seed: 1)
        try network.act(ringPeer(0)) { try $0.startInitialisation() }
        #expect(try RingConsensusTests.settle(&network) { net in net.alive.allSatisfy { net.nodes[$0]!.ring.isInitialised } })
        for index in 0..<20 { _ = try network.nodes[ringPeer(0)]!.allocate(containerID: "c\(index)") }
        return network
    }

    @Test func restartedPeerKeepsRangesAllocationsAndPromises() async throws {
        let network = try Self.cluster()
        try await withTemporaryDirectory { directory in
            let before = network.nodes[ringPeer(0)]!
            let writer = RingNodeStore(store: try FileDatastore(directory: directory))
            for node in network.nodes.values { try await writer.save(node) }

            // A new store instance on the same directory: nothing is cached in memory.
            let reader = RingNodeStore(store: try FileDatastore(directory: directory))
            var after = try await reader.load(me: ringPeer(0), range: "10.32.0.0/20", initialPeerCount: 3)
            #expect(after == before)
            #expect(after.ring.ranges(ownedBy: ringPeer(0)).count == before.ring.ranges(ownedBy: ringPeer(0)).count)
            #expect(after.allocations.count == 20)
            #expect(after.acceptors["init"]?.promised != nil, "the acceptor forgot its promise")
            #expect(after.decisions["init"] != nil)
            // Idempotent on the same container; a new one gets a different address.
            #expect(try after.allocate(containerID: "c3") == .allocated(before.address(of: "c3")!))
            guard case .allocated(let fresh) = try after.allocate(containerID: "new") else { Issue.record("no space"); return }
            #expect(!before.allocations.values.contains(fresh.value))
            // A peer with nothing stored starts fresh.
            let stranger = try await reader.load(me: ringPeer(9), range: "10.32.0.0/20", initialPeerCount: 3)
            #expect(!stranger.ring.isInitialised && stranger.allocations.isEmpty)
            // Another range is refused.
            await #expect(throws: IPAMError.self) { try await reader.load(me: ringPeer(0), range: "10.40.0.0/20", initialPeerCount: 3) }
        }
    }

    /// A donation waiting for its confirmations stays unusable after a restart (forgetting it
    /// would let the restarted peer hand out a range a reclaim may have given away).
    @Test func pendingDonationSurvivesARestart() async throws {
        let network = try Self.cluster()
        let owner = network.nodes[ringPeer(0)]!.ring.seeds[0]
        var node = network.nodes[owner]!
        guard let range = node.ring.ranges(ownedBy: owner).first else { Issue.record("a seed owns nothing"); return }
        node.pendingDonations = [RingPendingDonation(token: UInt32(range.lower), donor: ringPeer(2))]
        try await withTemporaryDirectory { directory in
            let store = RingNodeStore(store: try FileDatastore(directory: directory))
            try await store.save(node)
            var after = try await store.load(me: owner, range: "10.32.0.0/20", initialPeerCount: 3)
            #expect(after.pendingDonations == node.pendingDonations)
            if case .allocated(let address) = try after.allocate(containerID: "p") {
                #expect(UInt64(address.value) >= range.upper || UInt64(address.value) < range.lower, "allocated from a pending donation")
            }
        }
    }

    @Test func corruptRecordIsAnErrorNamingItsKey() async throws {
        let network = try Self.cluster()
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            let rings = RingNodeStore(store: store)
            try await rings.save(network.nodes[ringPeer(1)]!)
            for key in [RingNodeStore.keys(of: ringPeer(1)).allocations, RingNodeStore.keys(of: ringPeer(1)).ring] {
                try await rings.save(network.nodes[ringPeer(1)]!)
                try await store.put(key, string: "{\"truncated")
                do {
                    _ = try await rings.load(me: ringPeer(1), range: "10.32.0.0/20", initialPeerCount: 3)
                    Issue.record("a corrupt \(key) loaded")
                } catch let error as IPAMError {
                    #expect(error.code == .malformedRecord)
                    #expect(error.message.contains(key))
                }
            }
            try await rings.remove(ringPeer(1))
            #expect(try await store.list(prefix: KeyLayout.ringPeer(ringPeer(1).nameText)).items.isEmpty)
        }
    }

    @Test func statusAndMessagesRoundTripAsJSON() throws {
        var network = try Self.cluster()
        let node = network.nodes[ringPeer(0)]!
        let status = node.status
        #expect(status.initialised && status.allocations == 20 && status.peers.count >= 2)
        #expect(status.peers.reduce(0) { $0 + $1.owned } == 4096)
        #expect(status.ranges.first?.first == IPv4Address(10, 32, 0, 0) && status.ranges.last?.last == IPv4Address(10, 32, 15, 255))
        let data = try JSONEncoder().encode(status)
        #expect(try JSONDecoder().decode(RingStatus.self, from: data) == status)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"0a:00:00:00:00:00\"") && text.contains("10.32.0.0"))

        // Every kind of message survives JSON (they travel over the mesh's gossip).
        var messages: [RingEnvelope] = [node.gossip(), RingEnvelope(from: ringPeer(1), to: ringPeer(0), message: .donationRequest)]
        network.dead.insert(ringPeer(2))
        var sniffer = network
        let reclaim = try sniffer.nodes[ringPeer(0)]!.reclaim(ringPeer(2), incarnation: 3)
        messages += reclaim
        let decision = RingReclaimDecision(dead: ringPeer(2), incarnation: 3, winner: ringPeer(0))
        let instance = RingConsensusInstance.reclaim(dead: ringPeer(2), incarnation: 3)
        let ballot = RingBallot(round: 4, proposer: ringPeer(0).name)
        for message: RingConsensusMessage in [
            .promise(instance, ballot, accepted: RingAcceptedValue(ballot: ballot, value: .reclaim(decision)), ring: node.ring),
            .reject(instance, ballot, promised: ballot), .accept(.initialisation, ballot, .seeds([ringPeer(0)])),
            .accepted(instance, ballot), .decided(instance, .reclaim(decision)),
        ] {
            messages.append(RingEnvelope(from: ringPeer(0), to: ringPeer(1), message: .consensus(message)))
        }
        for message in messages {
            #expect(try JSONDecoder().decode(RingEnvelope.self, from: JSONEncoder().encode(message)) == message)
        }
        // Malformed input is an error, never a crash.
        #expect(throws: (any Error).self) { try JSONDecoder().decode(RingEnvelope.self, from: Data("{\"from\":{\"name\":\"zz\"}}".utf8)) }
        var receiver = network.nodes[ringPeer(1)]!
        #expect(throws: IPAMError.self) { try receiver.receive(RingEnvelope(from: ringPeer(0), to: ringPeer(2), message: .donationRequest)) }
    }
}
