import Datastore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetPrimitives
import Testing
@testable import IPAM
@testable import IPAMCore

@Suite struct BlockAllocatorTransactionTests {
    /// An allocation in an existing block, its handle record and the caller's extra key are one
    /// store write: one revision, shared by all three keys.
    @Test func anAllocationWithItsExtraWritesIsOneStoreWrite() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            let allocator = try BlockAllocator(store: store, node: "n1", pools: [BlockPool(cidr: "10.244.0.0/24")])
            _ = try await allocator.allocate(handle: "net.first")
            let before = try await store.list(prefix: KeyLayout.root).revision
            let addresses = try await allocator.allocate(handle: "net.c1") { addresses in
                [.put(key: KeyLayout.pod(namespace: "default", name: "p1"), value: Array("\(addresses[0].address)".utf8), lease: nil)]
            }
            let after = try await store.list(prefix: KeyLayout.root).revision
            #expect(after == before + 1)
            let record = try await store.get(KeyLayout.pod(namespace: "default", name: "p1"))
            #expect(record?.string == "\(addresses[0].address)" && record?.modRevision == after)
            #expect(try await store.get(KeyLayout.handle("net.c1"))?.modRevision == after)
            #expect(try await store.get(KeyLayout.block("10.244.0.0/26"))?.modRevision == after)
            // A claim is one write too: the block, its affinity, the handle.
            let other = try BlockAllocator(store: store, node: "n2", pools: [BlockPool(cidr: "10.244.0.0/24")], strictAffinity: true)
            _ = try await other.allocate(handle: "net.c2")
            #expect(try await store.list(prefix: KeyLayout.root).revision == after + 1)
            #expect(try await store.list(prefix: KeyLayout.affinities(node: "n2")).items.map(\.modRevision) == [after + 1])
        }
    }

    /// Two nodes, 15 concurrent allocations each, on one file store with small blocks (claims
    /// race too): every address once, every handle record matching its block allocation.
    @Test func concurrentAllocationsNeverShareAnAddress() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            let pools = [BlockPool(cidr: "10.245.0.0/24", blockSize: 28)]
            let allocators = [try BlockAllocator(store: store, node: "n1", pools: pools), try BlockAllocator(store: store, node: "n2", pools: pools)]
            let results = try await withThrowingTaskGroup(of: (String, IPAddress).self) { group in
                for index in 0..<30 {
                    let allocator = allocators[index % 2]
                    group.addTask {
                        let handle = "net.c\(index)"
                        let addresses = try await allocator.allocate(handle: handle) { _ in
                            [.put(key: KeyLayout.pod(namespace: "default", name: "p\(index)"), value: Array(handle.utf8), lease: nil)]
                        }
                        return (handle, addresses[0].address)
                    }
                }
                return try await group.reduce(into: [(String, IPAddress)]()) { $0.append($1) }
            }
            #expect(results.count == 30)
            #expect(Set(results.map(\.1)).count == 30)
            let blocks = try await store.list(prefix: KeyLayout.blocks).items.compactMap {
                try? JSONDecoder().decode(AllocationBlock.self, from: Data($0.value))
            }
            var owners: [IPAddress: String] = [:]
            for block in blocks {
                for (ordinal, handle) in block.allocations { owners[block.address(ordinal: Int(ordinal)!)!] = handle }
            }
            for (handle, address) in results {
                #expect(owners[address] == handle)
                let record = try await store.get(KeyLayout.handle(handle))
                let decoded = try record.map { try JSONDecoder().decode(BlockAllocator.HandleRecord.self, from: Data($0.value)) }
                #expect(decoded?.addresses == [address])
            }
            #expect(try await store.list(prefix: KeyLayout.root + "/pods/").items.count == 30)
        }
    }
}
