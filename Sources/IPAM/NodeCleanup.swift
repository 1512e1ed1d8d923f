#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Datastore
import NetPrimitives

/// What a controller does when a node leaves the cluster for good: every record of the node
/// in the store goes, on any ``Datastore`` (file store or etcd), and nothing of another node
/// is touched, so pods on the other nodes keep working.
///
/// - its IPAM allocations (handles whose record names the node, or, without a handle record,
///   allocations in a block affine to the node) and their handle records;
/// - its blocks: an emptied block is deleted; a block still holding addresses other nodes
///   borrowed loses its affinity and stays (the borrowers keep their addresses);
/// - its block affinities (`/swiftcni/ipam/affinities/<node>/`);
/// - its flannel subnet leases (`NodeName` = the node), the lease revoked;
/// - its pod records (and their label keys) and its node record.
///
/// The space is free again: the next node claims the deleted blocks and leases. Running it
/// twice is harmless (the second run finds nothing).
///
/// ```swift
/// let report = try await NodeCleanup(store: store).removeNode("node-3")
/// ```
public struct NodeCleanup: Sendable {
    public let store: any Datastore
    /// flannel's key prefix, where the node's subnet leases are.
    public let flannelPrefix: String

    public init(store: any Datastore, flannelPrefix: String = KeyLayout.flannelDefaultPrefix) {
        self.store = store
        self.flannelPrefix = flannelPrefix
    }

    /// What ``removeNode(_:)`` released.
    public struct Report: Hashable, Sendable, Codable {
        /// The node's addresses freed in blocks.
        public var releasedAddresses: [IPAddress] = []
        /// Blocks deleted (affine to the node, empty once its addresses were freed).
        public var deletedBlocks: [IPNetwork] = []
        /// Blocks affine to the node that other nodes still borrow from: now without affinity.
        public var unaffinedBlocks: [IPNetwork] = []
        /// Affinity keys deleted (with their blocks, or left without a block).
        public var affinities: [String] = []
        /// Handle records deleted.
        public var handles: [String] = []
        /// flannel subnet leases deleted.
        public var leases: [IPNetwork] = []
        /// Pod record keys deleted.
        public var pods: [String] = []
        /// Whether the node record existed.
        public var nodeRecord = false

        public init() {}
    }

    /// Releases every record of node `name` (see ``NodeCleanup``). A record that does not
    /// decode is an `IPAMError` `.malformedRecord` naming its key; what was released before
    /// stays released, and a new run goes on from there.
    public func removeNode(_ name: String) async throws -> Report {
        guard !name.isEmpty, !name.contains("/") else { throw IPAMError(.invalidConfiguration, "invalid node name \"\(name)\"") }
        var report = Report()
        let handles = try await handles(of: name)
        try await releaseBlocks(of: name, handles: handles, into: &report)
        for item in try await list(KeyLayout.affinities(node: name)) {
            if try await withDatastore("delete \(item.key)", { try await store.delete(item.key) }) { report.affinities.append(item.key) }
        }
        for handle in handles.sorted() {
            if try await withDatastore("delete handle \(handle)", { try await store.delete(KeyLayout.handle(handle)) }) {
                report.handles.append(handle)
            }
        }
        try await releaseLeases(of: name, into: &report)
        let registry = ClusterRegistry(store: store)
        for pod in try await withDatastore("list pods", { try await registry.pods(onNode: name) }) {
            if try await withDatastore("delete \(pod.key)", { try await registry.deletePod(namespace: pod.namespace, name: pod.name, containerID: nil) }) {
                report.pods.append(pod.key)
            }
            _ = try await withDatastore("delete labels of \(pod.key)") {
                try await store.delete(KeyLayout.labels(kind: "pod", namespace: pod.namespace, name: pod.name))
            }
        }
        report.nodeRecord = try await withDatastore("delete node record") { try await registry.deleteNode(name) }
        return report
    }

    private func list(_ prefix: String) async throws -> [KeyValue] {
        try await withDatastore("list \(prefix)") { try await store.list(prefix: prefix) }.items
    }

    /// The handles whose record names `node`.
    private func handles(of node: String) async throws -> Set<String> {
        var result: Set<String> = []
        for item in try await list(KeyLayout.handles) {
            let record = try decodeRecord(BlockAllocator.HandleRecord.self, item.value, key: item.key)
            if record.node == node { result.insert(String(item.key.dropFirst(KeyLayout.handles.count))) }
        }
        return result
    }

    /// Frees the node's allocations in every block and gives up its blocks, one transaction per
    /// block conditioned on the revision read (a conflict reads the blocks again).
    private func releaseBlocks(of node: String, handles: Set<String>, into report: inout Report) async throws {
        for _ in 0..<100 {
            var conflict = false
            let items = try await list(KeyLayout.blocks)
            let recorded = Set(try await list(KeyLayout.handles).map { String($0.key.dropFirst(KeyLayout.handles.count)) })
            for item in items {
                var block = try decodeRecord(AllocationBlock.self, item.value, key: item.key)
                let affine = block.affinity == node
                // An allocation without a handle record (a process killed between the block
                // update and the handle write) belongs to the block's node.
                let doomed = block.allocations.filter { handles.contains($0.value) || (affine && !recorded.contains($0.value)) }
                guard affine || !doomed.isEmpty else { continue }
                for ordinal in doomed.keys { block.allocations.removeValue(forKey: ordinal) }
                if affine { block.affinity = nil }
                var transaction = DatastoreTransaction()
                transaction.require(item.key, .modRevision(item.modRevision))
                if block.isEmpty {
                    transaction.delete(item.key)
                } else {
                    transaction.put(item.key, value: Array(try JSONEncoder().encode(block)))
                }
                if affine { transaction.delete(KeyLayout.affinity(node: node, block: block.cidr.description)) }
                let outcome = try await withDatastore("release \(block.cidr)") { try await store.commit(transaction) }
                guard outcome.succeeded else { conflict = true; continue }
                report.releasedAddresses += doomed.keys.compactMap { Int($0) }.sorted().compactMap(block.address(ordinal:))
                if block.isEmpty { report.deletedBlocks.append(block.cidr) } else if affine { report.unaffinedBlocks.append(block.cidr) }
                if affine { report.affinities.append(KeyLayout.affinity(node: node, block: block.cidr.description)) }
            }
            if !conflict { return }
        }
        throw IPAMError(.contention, "the blocks of \(node) kept changing while releasing them")
    }

    /// Deletes (and revokes) the flannel leases whose `NodeName` is `node`.
    private func releaseLeases(of node: String, into report: inout Report) async throws {
        let manager = SubnetLeaseManager(store: store, prefix: flannelPrefix)
        for lease in try await manager.leases() where lease.attributes.NodeName == node {
            try await manager.release(lease)
            report.leases.append(lease.subnet)
        }
    }
}
