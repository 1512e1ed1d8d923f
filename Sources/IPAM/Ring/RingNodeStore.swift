#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datastore
import NetPrimitives

/// Keeps a ``RingNode`` in a `Datastore` (the file store, typically) so a restarted peer has
/// its ring, its allocations and its Paxos state back. Three keys under
/// `/swiftcni/ipam/ring/<peer>/` (see Documentation/Datastore.md), written in one transaction:
/// `ring` (the ``AddressRing`` JSON), `allocations` (container ID → address) and `consensus`
/// (acceptor promises and accepted values, running proposals, decisions, the highest round).
/// A record that does not decode is a `.malformedRecord` error naming its key.
public struct RingNodeStore: Sendable {
    public let store: any Datastore

    public init(store: any Datastore) { self.store = store }

    /// The consensus record's value.
    struct ConsensusRecord: Codable {
        var acceptors: [String: RingAcceptorState]
        var proposers: [String: RingProposerState]
        var decisions: [String: RingConsensusValue]
        var highestRound: UInt64
        /// Absent in records written before donations were confirmed.
        var pendingDonations: [RingPendingDonation]?
    }

    /// The three keys of `peer`.
    public static func keys(of peer: RingPeer) -> (ring: String, allocations: String, consensus: String) {
        let prefix = KeyLayout.ringPeer(peer.nameText)
        return (prefix + "ring", prefix + "allocations", prefix + "consensus")
    }

    /// The stored state of `me`, or a fresh node when nothing is stored. Throws
    /// `.invalidConfiguration` when the stored ring covers another range.
    public func load(
        me: RingPeer, range: IPNetwork = AddressRing.defaultRange, initialPeerCount: Int, observer: Bool = false
    ) async throws -> RingNode {
        var node = try RingNode(me: me, range: range, initialPeerCount: initialPeerCount, observer: observer)
        let keys = Self.keys(of: me)
        if let value = try await withDatastore("read \(keys.ring)", { try await store.get(keys.ring) }) {
            let ring = try decode(AddressRing.self, value, key: keys.ring)
            do { try ring.validate() } catch { throw IPAMError(.malformedRecord, "\(keys.ring): \(error)") }
            guard ring.start == node.ring.start, ring.end == node.ring.end else {
                throw IPAMError(.invalidConfiguration, "\(keys.ring) holds a ring over \(ring.range), not \(range)")
            }
            node.ring = ring
        }
        if let value = try await withDatastore("read \(keys.allocations)", { try await store.get(keys.allocations) }) {
            let allocations = try decode([String: IPv4Address].self, value, key: keys.allocations)
            node.allocations = allocations.mapValues(\.value)
        }
        if let value = try await withDatastore("read \(keys.consensus)", { try await store.get(keys.consensus) }) {
            let record = try decode(ConsensusRecord.self, value, key: keys.consensus)
            node.acceptors = record.acceptors
            node.proposers = record.proposers
            node.decisions = record.decisions
            node.highestRound = record.highestRound
            node.pendingDonations = record.pendingDonations ?? []
        }
        return node
    }

    /// Writes the whole state of `node` in one transaction. Call it after every change and
    /// before sending the messages the change produced.
    public func save(_ node: RingNode) async throws {
        let keys = Self.keys(of: node.me)
        var transaction = DatastoreTransaction()
        transaction.put(keys.ring, value: try encode(node.ring))
        transaction.put(keys.allocations, value: try encode(node.allocations.mapValues(IPv4Address.init)))
        let record = ConsensusRecord(
            acceptors: node.acceptors, proposers: node.proposers, decisions: node.decisions, highestRound: node.highestRound,
            pendingDonations: node.pendingDonations)
        transaction.put(keys.consensus, value: try encode(record))
        _ = try await withDatastore("write \(KeyLayout.ringPeer(node.me.nameText))") { try await store.commit(transaction) }
    }

    /// Deletes the records of `peer` (after the peer left the ring for good).
    public func remove(_ peer: RingPeer) async throws {
        let keys = Self.keys(of: peer)
        var transaction = DatastoreTransaction()
        for key in [keys.ring, keys.allocations, keys.consensus] { transaction.delete(key) }
        _ = try await withDatastore("delete \(KeyLayout.ringPeer(peer.nameText))") { try await store.commit(transaction) }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: KeyValue, key: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(value.value)) } catch {
            throw IPAMError(.malformedRecord, "\(key): \(error)")
        }
    }

    private func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return Array(try encoder.encode(value)) } catch {
            throw IPAMError(.invalidConfiguration, "cannot encode ring state: \(error)")
        }
    }
}
