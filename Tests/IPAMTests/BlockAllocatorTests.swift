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

@Suite struct BlockPlanTests {
    let pool = BlockPool(cidr: "10.244.0.0/24", blockSize: 26)

    @Test func claimsFirstBlockAndSkipsThePoolNetworkAddress() {
        #expect(BlockPlan.make(node: "n1", pools: [pool], blocks: [], strictAffinity: false) == .claim(block: "10.244.0.0/26", ordinal: 1))
    }

    @Test func prefersAffineBlocksThenClaimsThenBorrows() {
        let mine = AllocationBlock(cidr: "10.244.0.64/26", affinity: "n1", allocations: ["0": "h"])
        let theirs = AllocationBlock(cidr: "10.244.0.0/26", affinity: "n2")
        #expect(BlockPlan.make(node: "n1", pools: [pool], blocks: [theirs, mine], strictAffinity: false) == .allocate(block: "10.244.0.64/26", ordinal: 1, borrowed: false))
        let full = AllocationBlock(cidr: "10.244.0.64/26", affinity: "n1", allocations: Dictionary(uniqueKeysWithValues: (0..<64).map { (String($0), "h\($0)") }))
        #expect(BlockPlan.make(node: "n1", pools: [pool], blocks: [theirs, full], strictAffinity: false) == .claim(block: "10.244.0.128/26", ordinal: 0))
        let others = ["10.244.0.128/26", "10.244.0.192/26"].map { AllocationBlock(cidr: IPNetwork($0)!, affinity: "n3") }
        #expect(BlockPlan.make(node: "n1", pools: [pool], blocks: [theirs, full] + others, strictAffinity: false) == .allocate(block: "10.244.0.0/26", ordinal: 1, borrowed: true))
        #expect(BlockPlan.make(node: "n1", pools: [pool], blocks: [theirs, full] + others, strictAffinity: true) == .exhausted)
    }

    @Test func neverHandsOutTheBroadcastAddress() {
        let last = AllocationBlock(cidr: "10.244.0.192/26", affinity: "n1", allocations: Dictionary(uniqueKeysWithValues: (0..<63).map { (String($0), "h") }))
        #expect(last.freeOrdinal(pool: "10.244.0.0/24") == nil)
    }

    @Test func rejectsBadPoolsAndNames() async throws {
        try await withTemporaryDirectory { directory in
        let store = try FileDatastore(directory: directory)
        #expect(throws: IPAMError.self) { try BlockAllocator(store: store, node: "n", pools: [BlockPool(cidr: "10.0.0.0/24", blockSize: 20)]) }
        #expect(throws: IPAMError.self) { try BlockAllocator(store: store, node: "a/b", pools: [pool]) }
        #expect(throws: IPAMError.self) { try BlockAllocator.handle(network: "net", containerID: "../x") }
        }
    }
}

@Suite struct BlockAllocatorTests {
    @Test func allocatesReleasesAndLeavesTheStoreAsItStarted() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            let pools = [BlockPool(cidr: "10.244.0.0/24", blockSize: 28), BlockPool(cidr: "fd00:244::/120", blockSize: 124)]
            let allocator = try BlockAllocator(store: store, node: "n1", pools: pools)
            var handles: [String] = []
            var seen: Set<IPAddress> = []
            for index in 0..<20 {
                let handle = try BlockAllocator.handle(network: "net", containerID: "c\(index)")
                let addresses = try await allocator.allocate(handle: handle)
                #expect(addresses.count == 2)
                for address in addresses { #expect(seen.insert(address.address).inserted) }
                handles.append(handle)
            }
            // Idempotent ADD.
            #expect(try await allocator.allocate(handle: handles[0]).map(\.address).allSatisfy(seen.contains))
            let blocks = try await store.list(prefix: KeyLayout.blocks).items.count
            #expect(blocks == 4)  // 20 v4 in /28s (15, 16 usable) and 20 v6 in /124s (16 each)
            #expect(try await store.list(prefix: KeyLayout.affinities(node: "n1")).items.count == 4)
            for handle in handles { #expect(try await allocator.release(handle: handle).count == 2) }
            #expect(try await allocator.release(handle: handles[0]).isEmpty)
            #expect(try await store.list(prefix: KeyLayout.root).items.isEmpty)
        }
    }

    @Test func dualStackAllocationIsAllOrNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            // The IPv6 pool has room for one address (a /127 block inside a /127 pool: ordinal 0 is the pool network).
            let allocator = try BlockAllocator(store: store, node: "n1", pools: [BlockPool(cidr: "10.70.0.0/24"), BlockPool(cidr: "fd00:70::/127", blockSize: 127)])
            #expect(try await allocator.allocate(handle: "net.a").count == 2)
            await #expect(throws: IPAMError.self) { try await allocator.allocate(handle: "net.b") }
            let blocks = try await store.list(prefix: KeyLayout.blocks).items.compactMap { try? JSONDecoder().decode(AllocationBlock.self, from: Data($0.value)) }
            #expect(blocks.flatMap { $0.allocations.values } .sorted() == ["net.a", "net.a"])
        }
    }

    @Test func garbageCollectionFreesOnlyThisNodesInvalidAllocations() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory)
            let pools = [BlockPool(cidr: "10.244.0.0/24")]
            let one = try BlockAllocator(store: store, node: "n1", pools: pools)
            let two = try BlockAllocator(store: store, node: "n2", pools: pools)
            _ = try await one.allocate(handle: "net.a")
            _ = try await one.allocate(handle: "net.b")
            _ = try await one.allocate(handle: "other.a")
            _ = try await two.allocate(handle: "net.z")
            // A process killed after the block update, before the handle record.
            try await store.delete(KeyLayout.handle("net.b"))
            let freed = try await one.garbageCollect(network: "net", validContainerIDs: ["a"])
            #expect(freed.map(\.description) == ["10.244.0.2"])
            #expect(try await store.get(KeyLayout.handle("net.a")) != nil)
            #expect(try await store.get(KeyLayout.handle("net.z")) != nil)
        }
    }
}

@Suite struct SubnetLeaseTests {
    @Test func candidateSubnetsFollowFlannelDefaults() throws {
        let configuration = SubnetLeaseConfiguration(network: "10.244.0.0/16")
        let candidates = try configuration.candidateSubnets()
        #expect(configuration.subnetLength == 24)
        #expect(candidates.first == "10.244.1.0/24" && candidates.last == "10.244.255.0/24" && candidates.count == 255)
        let bounded = SubnetLeaseConfiguration(network: "10.244.0.0/16", subnetLength: 24, subnetMin: "10.244.10.0", subnetMax: "10.244.12.0")
        #expect(try bounded.candidateSubnets().map(\.description) == ["10.244.10.0/24", "10.244.11.0/24", "10.244.12.0/24"])
    }

    @Test func leasesAreUniqueReusedAfterRestartAndWatched() async throws {
        try await withTemporaryDirectory { directory in
            let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 20)
            let manager = SubnetLeaseManager(store: store)
            let configuration = try await manager.ensureConfiguration(SubnetLeaseConfiguration(network: "10.244.0.0/16"))
            #expect(try await store.get("/coreos.com/network/config") != nil)
            var watched = manager.watch(fromRevision: 1).makeAsyncIterator()
            let first = try await manager.acquire(node: "n1", attributes: SubnetLeaseAttributes(publicIP: "192.168.0.1", backendType: "vxlan", backendData: .object(["VNI": .integer(1)])), configuration: configuration, ttlSeconds: 60)
            let second = try await manager.acquire(node: "n2", attributes: SubnetLeaseAttributes(publicIP: "192.168.0.2", backendType: "vxlan"), configuration: configuration, ttlSeconds: 60)
            #expect(first.subnet == "10.244.1.0/24" && second.subnet == "10.244.2.0/24")
            let stored = try await store.get("/coreos.com/network/subnets/10.244.1.0-24")
            #expect(stored?.string.contains("\"PublicIP\":\"192.168.0.1\"") == true)
            #expect(stored?.string.contains("\"BackendType\":\"vxlan\"") == true)
            // Restart of n1: same subnet back.
            let again = try await manager.acquire(node: "n1", attributes: SubnetLeaseAttributes(publicIP: "192.168.0.1", backendType: "vxlan", backendData: .object(["VNI": .integer(1)])), configuration: configuration, ttlSeconds: 60)
            #expect(again.subnet == first.subnet)
            try await manager.renew(again)
            let event = try await watched.next()
            #expect(event == .added(first) || { if case .added(let lease) = event { return lease.subnet == first.subnet } else { return false } }())
            // Expired lease: the subnet goes away, and the preferred hint brings it back.
            try await manager.release(second)
            #expect(try await manager.leases().map(\.subnet) == [first.subnet])
            let back = try await manager.acquire(node: "n2", attributes: SubnetLeaseAttributes(publicIP: "192.168.0.2"), configuration: configuration, preferred: "10.244.2.0/24")
            #expect(back.subnet == "10.244.2.0/24")
        }
    }
}
