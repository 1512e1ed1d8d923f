#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datastore
import NetPrimitives

/// Block-affinity IPAM in Calico's model, on any `Datastore`: pools are split into blocks
/// (default /26); a node claims blocks (atomically, by creating the block key with
/// compare-and-swap) and allocates from its own blocks first, borrows from other nodes' blocks
/// unless `strictAffinity`, and records each allocation under a handle
/// (`<network>.<containerID>`) so DEL releases exactly what ADD took. Blocks that become empty
/// are released.
///
/// Keys: `/swiftcni/ipam/blocks/<cidr>`, `/swiftcni/ipam/affinities/<node>/<cidr>`,
/// `/swiftcni/ipam/handles/<handle>` (see Documentation/Datastore.md).
public struct BlockAllocator: Sendable {
    public let store: any Datastore
    public let node: String
    public let pools: [BlockPool]
    public let strictAffinity: Bool
    public let releaseEmptyBlocks: Bool

    /// The handle record at `/swiftcni/ipam/handles/<handle>`.
    public struct HandleRecord: Hashable, Sendable, Codable {
        public var node: String
        public var addresses: [IPAddress]
    }

    public init(store: any Datastore, node: String, pools: [BlockPool], strictAffinity: Bool = false, releaseEmptyBlocks: Bool = true) throws {
        guard !node.isEmpty, !node.contains("/") else { throw IPAMError(.invalidConfiguration, "invalid node name \"\(node)\"") }
        guard !pools.isEmpty else { throw IPAMError(.invalidConfiguration, "no pools configured") }
        for pool in pools { try pool.validate() }
        self.store = store
        self.node = node
        self.pools = pools
        self.strictAffinity = strictAffinity
        self.releaseEmptyBlocks = releaseEmptyBlocks
    }

    /// `<network>.<containerID>`, both validated so the handle is one key component.
    public static func handle(network: String, containerID: String) throws -> String {
        try Identifier.validateNetworkName(network)
        try Identifier.validateContainerID(containerID)
        return "\(network).\(containerID)"
    }

    private func blocks() async throws -> [(block: AllocationBlock, revision: Int64)] {
        let listing = try await withDatastore("list blocks") { try await store.list(prefix: KeyLayout.blocks) }
        return try listing.items.map { item throws(IPAMError) in
            (try decodeRecord(AllocationBlock.self, item.value, key: item.key), item.modRevision)
        }
    }

    private func encode<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try JSONEncoder().encode(value)) }

    /// Allocates one address per address family of the pools for `handle`. Idempotent: a
    /// handle that already holds an address of a family keeps it.
    public func allocate(handle: String, requested: [IPAddress] = []) async throws -> [IPNetwork] {
        try await allocate(handle: handle, requested: requested) { _ in [] }
    }

    /// `allocate(handle:)` plus the writes `alsoWriting` derives from the addresses (a pod
    /// record, say), all in ONE datastore transaction: the updated or newly claimed blocks
    /// (each conditioned on the revision read, or on being absent), the new affinities, the
    /// handle record and the extra writes, at one store revision. A conflict with another
    /// allocator changes nothing; the blocks are read again and the allocation planned again.
    /// So an ADD costs one write (one fsync pair on the file store, one etcd txn), and a crash
    /// can never leave a block allocation without its handle record, nor half of a dual-stack
    /// allocation.
    ///
    /// `requested` addresses (`IP=` in `CNI_ARGS`, the `ips` capability) are allocated instead
    /// of one per family: each in its block, borrowed when the block is another node's, its
    /// block claimed for this node when nobody has it (``BlockPlan/make(requested:node:pools:blocks:handle:)``).
    public func allocate(
        handle: String, requested: [IPAddress] = [], alsoWriting extra: ([IPNetwork]) throws -> [DatastoreTransaction.Operation]
    ) async throws -> [IPNetwork] {
        let families = pools.map(\.cidr.family).reduce(into: [IPAddress.Family]()) { if !$0.contains($1) { $0.append($1) } }
        for _ in 0..<100 {
            var changes = BlockChanges(try await blocks())
            var result: [IPNetwork] = []
            if requested.isEmpty {
                for family in families {
                    result.append(try changes.assign(handle: handle, node: node, pools: pools.filter { $0.cidr.family == family }, strictAffinity: strictAffinity))
                }
            } else {
                for address in requested {
                    let plan = try BlockPlan.make(requested: address, node: node, pools: pools, blocks: Array(changes.blocks.values), handle: handle)
                    result.append(try changes.apply(plan, handle: handle, node: node))
                }
            }
            var transaction = try changes.transaction(node: node)
            transaction.put(KeyLayout.handle(handle), value: try encode(HandleRecord(node: node, addresses: result.map(\.address))))
            transaction.operations += try extra(result)
            let outcome = try await withDatastore("allocate for \(handle)") { try await store.commit(transaction) }
            if outcome.succeeded { return result }
        }
        throw IPAMError(.contention, "could not allocate for \(handle) after 100 attempts")
    }

    /// Releases every address `handle` holds (in any block) and its handle record; a missing
    /// handle is not an error. Returns the addresses freed.
    @discardableResult
    public func release(handle: String) async throws -> [IPAddress] {
        try await release { $0 == handle }
    }

    /// Releases all allocations whose handle satisfies `isDoomed`.
    private func release(where isDoomed: (String) -> Bool) async throws -> [IPAddress] {
        var freed: [IPAddress] = []
        var handles: Set<String> = []
        for _ in 0..<100 {
            var conflict = false
            for entry in try await blocks() where entry.block.allocations.values.contains(where: isDoomed) {
                var block = entry.block
                let doomed = block.allocations.filter { isDoomed($0.value) }
                for (ordinal, handle) in doomed {
                    block.allocations.removeValue(forKey: ordinal)
                    handles.insert(handle)
                }
                let key = KeyLayout.block(block.cidr.description)
                let emptyAndReleasable = block.isEmpty && releaseEmptyBlocks
                let bytes: [UInt8]? = emptyAndReleasable ? nil : try encode(block)
                let swap = try await withDatastore("release from \(block.cidr)") {
                    try await store.compareAndSwap(key, expecting: .modRevision(entry.revision), value: bytes)
                }
                guard swap.succeeded else { conflict = true; continue }
                freed += doomed.keys.compactMap { Int($0) }.compactMap(block.address(ordinal:))
                if emptyAndReleasable, let owner = block.affinity {
                    _ = try await withDatastore("delete affinity") { try await store.delete(KeyLayout.affinity(node: owner, block: block.cidr.description)) }
                }
            }
            if !conflict { break }
        }
        for handle in handles { _ = try await withDatastore("delete handle") { try await store.delete(KeyLayout.handle(handle)) } }
        return freed
    }

    /// GC: frees the allocations of `network` made on this node whose container is not in
    /// `validContainerIDs`. A handle whose record is missing (a process killed between the
    /// block update and the handle write) counts as this node's when the block is affine to it.
    @discardableResult
    public func garbageCollect(network: String, validContainerIDs: Set<String>) async throws -> [IPAddress] {
        let prefix = network + "."
        let records = try await withDatastore("list handles") { try await store.list(prefix: KeyLayout.handles) }
        var owners: [String: String] = [:]
        for item in records.items {
            let record = try decodeRecord(HandleRecord.self, item.value, key: item.key)
            owners[String(item.key.dropFirst(KeyLayout.handles.count))] = record.node
        }
        let current = try await blocks()
        var doomed: Set<String> = []
        for entry in current {
            for handle in entry.block.allocations.values where handle.hasPrefix(prefix) {
                let owner = owners[handle] ?? entry.block.affinity
                if owner == node && !validContainerIDs.contains(String(handle.dropFirst(prefix.count))) { doomed.insert(handle) }
            }
        }
        guard !doomed.isEmpty else { return [] }
        return try await release { doomed.contains($0) }
    }
}

/// The blocks as read, with the allocations of one ADD applied: what the transaction writes.
private struct BlockChanges {
    var blocks: [IPNetwork: AllocationBlock] = [:]
    var revisions: [IPNetwork: Int64] = [:]
    var changed: Set<IPNetwork> = []
    var claimed: Set<IPNetwork> = []

    init(_ read: [(block: AllocationBlock, revision: Int64)]) {
        for entry in read {
            blocks[entry.block.cidr] = entry.block
            revisions[entry.block.cidr] = entry.revision
        }
    }

    /// The address of one family of `pools` for `handle`: the one it holds already, or a new one.
    mutating func assign(handle: String, node: String, pools: [BlockPool], strictAffinity: Bool) throws -> IPNetwork {
        let current = blocks.values.filter { block in pools.contains { $0.cidr.contains(block.cidr.network) } }
        if let held = current.first(where: { !$0.ordinals(of: handle).isEmpty }) {
            return try IPNetwork(address: held.address(ordinal: held.ordinals(of: handle)[0])!, prefixLength: held.cidr.prefixLength)
        }
        let plan = BlockPlan.make(node: node, pools: pools, blocks: current, strictAffinity: strictAffinity)
        if plan == .exhausted { throw IPAMError(.exhausted, "no free address in pools \(pools.map(\.cidr)) for \(node)") }
        return try apply(plan, handle: handle, node: node)
    }

    mutating func apply(_ plan: BlockPlan, handle: String, node: String) throws -> IPNetwork {
        let cidr: IPNetwork
        let ordinal: Int
        switch plan {
        case .exhausted:
            throw IPAMError(.exhausted, "no free address for \(node)")
        case .allocate(let block, let offset, _):
            (cidr, ordinal) = (block, offset)
            blocks[cidr]!.allocations[String(ordinal)] = handle
        case .claim(let block, let offset):
            (cidr, ordinal) = (block, offset)
            blocks[cidr] = AllocationBlock(cidr: cidr, affinity: node, allocations: [String(ordinal): handle])
            claimed.insert(cidr)
        }
        changed.insert(cidr)
        return try IPNetwork(address: blocks[cidr]!.address(ordinal: ordinal)!, prefixLength: cidr.prefixLength)
    }

    /// Each changed block conditioned on the revision read (or on being absent when claimed),
    /// with the affinity of each claimed block.
    func transaction(node: String) throws -> DatastoreTransaction {
        var transaction = DatastoreTransaction()
        for cidr in changed.sorted(by: { $0.address < $1.address }) {
            let key = KeyLayout.block(cidr.description)
            transaction.require(key, revisions[cidr].map { .modRevision($0) } ?? .absent)
            transaction.put(key, value: Array(try JSONEncoder().encode(blocks[cidr]!)))
            if claimed.contains(cidr) {
                transaction.put(KeyLayout.affinity(node: node, block: cidr.description), value: Array("{\"state\":\"confirmed\"}".utf8))
            }
        }
        return transaction
    }
}
