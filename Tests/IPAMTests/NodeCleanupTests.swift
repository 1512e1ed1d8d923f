import Datastore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetPrimitives
import Testing
@testable import IPAM

/// NodeCleanup on the file store and on a real etcd: after a node leaves, none of its blocks,
/// affinities, handles, leases, pod or node records remain; another node's addresses (also one
/// borrowed from the leaving node's block) stay; a new node takes the space again.
@Suite struct NodeCleanupTests {
    @Test func fileStore() async throws {
        try await withTemporaryDirectory { directory in
            try await Self.removingANodeReleasesEverythingOfIt(try StoreLocation.open("file:" + directory))
        }
    }

    @Test func etcd() async throws {
        try await withEtcd { location in try await Self.removingANodeReleasesEverythingOfIt(try StoreLocation.open(location)) }
    }

    @Test func rejectsBadNodeNames() async throws {
        try await withTemporaryDirectory { directory in
            let cleanup = NodeCleanup(store: try StoreLocation.open("file:" + directory))
            await #expect(throws: IPAMError.self) { try await cleanup.removeNode("") }
            await #expect(throws: IPAMError.self) { try await cleanup.removeNode("a/b") }
            // A node with nothing in the store: nothing to do, no error.
            #expect(try await cleanup.removeNode("ghost") == NodeCleanup.Report())
        }
    }

    @Test func aMalformedBlockIsAnErrorNamingItsKey() async throws {
        try await withTemporaryDirectory { directory in
            let store = try StoreLocation.open("file:" + directory)
            try await store.put(KeyLayout.block("10.250.0.0/28"), string: "{nope")
            do {
                _ = try await NodeCleanup(store: store).removeNode("node-a")
                Issue.record("a malformed block was accepted")
            } catch let error as IPAMError {
                #expect(error.code == .malformedRecord && "\(error)".contains(KeyLayout.block("10.250.0.0/28")), "\(error)")
            }
        }
    }

    static func removingANodeReleasesEverythingOfIt(_ store: any Datastore) async throws {
        // Two /28 blocks in the pool: node-a and node-b claim one each, node-c must borrow.
        let pools = [BlockPool(cidr: "10.250.0.0/27", blockSize: 28)]
        func allocator(_ node: String) throws -> BlockAllocator { try BlockAllocator(store: store, node: node, pools: pools) }
        let registry = ClusterRegistry(store: store)
        var addresses: [String: [IPNetwork]] = [:]
        for (node, count) in [("node-a", 3), ("node-b", 2), ("node-c", 1)] {
            for index in 0..<count {
                let handle = try BlockAllocator.handle(network: "net", containerID: "\(node)-\(index)")
                let allocated = try await allocator(node).allocate(handle: handle)
                addresses[node, default: []] += allocated
                try await registry.put(PodRecord(
                    namespace: "x", name: "\(node)-\(index)", node: node, containerID: "\(node)-\(index)",
                    addresses: allocated.map(\.address.description)))
                try await store.put(KeyLayout.labels(kind: "pod", namespace: "x", name: "\(node)-\(index)"), string: "{}")
            }
            try await registry.put(NodeRecord(name: node, addresses: ["192.168.1.\(count)"]))
        }
        let blockA: IPNetwork = "10.250.0.0/28"
        #expect(addresses["node-a"]!.allSatisfy { blockA.contains($0.address) })
        #expect(blockA.contains(addresses["node-c"]![0].address), "node-c borrowed from node-a's block")
        // An allocation in node-a's block without a handle record (a plugin killed mid-ADD).
        var stored = try #require(try await store.get(KeyLayout.block(blockA.description)))
        var block = try decodeRecord(AllocationBlock.self, stored.value, key: stored.key)
        block.allocations["9"] = "net.orphan"
        _ = try await store.put(stored.key, value: Array(try JSONEncoder().encode(block)))
        // flannel leases of node-a and node-b.
        let leases = SubnetLeaseManager(store: store)
        let configuration = try await leases.ensureConfiguration(SubnetLeaseConfiguration(network: "10.244.0.0/16"))
        let leaseA = try await leases.acquire(node: "node-a", attributes: SubnetLeaseAttributes(publicIP: "192.168.1.3"), configuration: configuration, ttlSeconds: 600)
        _ = try await leases.acquire(node: "node-b", attributes: SubnetLeaseAttributes(publicIP: "192.168.1.2"), configuration: configuration, ttlSeconds: 600)

        let report = try await NodeCleanup(store: store).removeNode("node-a")
        #expect(Set(report.releasedAddresses) == Set(addresses["node-a"]!.map(\.address) + [blockA.network.address.advanced(by: 9)!]))
        #expect(report.unaffinedBlocks == [blockA] && report.deletedBlocks.isEmpty)
        #expect(report.affinities == [KeyLayout.affinity(node: "node-a", block: blockA.description)])
        #expect(report.handles == (0..<3).map { "net.node-a-\($0)" })
        #expect(report.leases == [leaseA.subnet])
        #expect(report.pods == (0..<3).map { KeyLayout.pod(namespace: "x", name: "node-a-\($0)") })
        #expect(report.nodeRecord)

        // Nothing of node-a remains anywhere in the store.
        for item in try await store.list(prefix: "/").items {
            #expect(!item.string.contains("node-a"), "\(item.key) still names node-a: \(item.string)")
            #expect(!item.key.contains("node-a"), "\(item.key) remains")
        }
        // node-b and node-c keep their addresses, handles and records; node-c's borrowed
        // address stays in the now unaffined block.
        stored = try #require(try await store.get(KeyLayout.block(blockA.description)))
        block = try decodeRecord(AllocationBlock.self, stored.value, key: stored.key)
        #expect(block.affinity == nil && block.allocations.values.sorted() == ["net.node-c-0"])
        #expect(try await registry.pods().map(\.name) == ["node-b-0", "node-b-1", "node-c-0"])
        #expect(try await registry.nodes().map(\.name) == ["node-b", "node-c"])
        #expect(try await allocator("node-b").allocate(handle: "net.node-b-0") == Array(addresses["node-b"]![0...0]))
        #expect(try await leases.leases().map { $0.attributes.NodeName } == ["node-b"])

        // A new node takes the space again: node-a's lease, and (once node-c's pod is gone, the
        // block empty and deleted) node-a's block.
        let leaseD = try await leases.acquire(node: "node-d", attributes: SubnetLeaseAttributes(publicIP: "192.168.1.9"), configuration: configuration, ttlSeconds: 600)
        #expect(leaseD.subnet == leaseA.subnet)
        let borrowedAgain = try await allocator("node-d").allocate(handle: "net.node-d-0")
        #expect(blockA.contains(borrowedAgain[0].address), "node-d uses node-a's freed addresses")
        try await allocator("node-c").release(handle: "net.node-c-0")
        try await allocator("node-d").release(handle: "net.node-d-0")
        #expect(try await store.get(KeyLayout.block(blockA.description)) == nil)
        let claimed = try await allocator("node-d").allocate(handle: "net.node-d-1")
        #expect(blockA.contains(claimed[0].address))
        stored = try #require(try await store.get(KeyLayout.block(blockA.description)))
        #expect(try decodeRecord(AllocationBlock.self, stored.value, key: stored.key).affinity == "node-d")

        // Twice is harmless.
        #expect(try await NodeCleanup(store: store).removeNode("node-a") == NodeCleanup.Report())
    }
}
