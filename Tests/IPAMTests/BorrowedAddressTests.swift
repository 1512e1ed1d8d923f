import Datastore
import NetPrimitives
import Testing
@testable import IPAM

/// Requested addresses in block mode and what a node routes for the addresses it borrowed.
@Suite struct BorrowedAddressTests {
    let pool = BlockPool(cidr: "10.250.0.0/27", blockSize: 28)

    @Test func aRequestedAddressIsTakenInItsBlockBorrowedOrClaimed() throws {
        let theirs = AllocationBlock(cidr: "10.250.0.0/28", affinity: "n2", allocations: ["1": "net.a"])
        #expect(try BlockPlan.make(requested: "10.250.0.5", node: "n1", pools: [pool], blocks: [theirs], handle: "net.b")
            == .allocate(block: "10.250.0.0/28", ordinal: 5, borrowed: true))
        #expect(try BlockPlan.make(requested: "10.250.0.20", node: "n1", pools: [pool], blocks: [theirs], handle: "net.b")
            == .claim(block: "10.250.0.16/28", ordinal: 4))
        // The handle already holding it (a repeated ADD) gets it again.
        #expect(try BlockPlan.make(requested: "10.250.0.1", node: "n2", pools: [pool], blocks: [theirs], handle: "net.a")
            == .allocate(block: "10.250.0.0/28", ordinal: 1, borrowed: false))
        for (address, reason) in [("10.250.0.1", "already allocated"), ("10.250.1.1", "in no pool"), ("10.250.0.0", "network"), ("10.250.0.31", "broadcast")] {
            #expect {
                _ = try BlockPlan.make(requested: IPAddress(address)!, node: "n1", pools: [pool], blocks: [theirs], handle: "net.b")
            } throws: { error in
                guard let error = error as? IPAMError else { return false }
                return error.code == .requestedAddressUnavailable && error.message.contains(reason)
            }
        }
    }

    @Test func blockRoutesAreAffineBlocksAndBorrowedHostRoutes() {
        let blocks = [
            AllocationBlock(cidr: "10.250.0.0/28", affinity: "n1", allocations: ["1": "net.a", "2": "net.c"]),
            AllocationBlock(cidr: "10.250.0.16/28", affinity: "n2", allocations: ["1": "net.b", "3": "net.d", "4": "net.orphan"]),
            AllocationBlock(cidr: "fd00::/124", affinity: nil, allocations: ["5": "net.d"]),
        ]
        let owners = ["net.a": "n1", "net.b": "n2", "net.c": "n2", "net.d": "n1"]
        let n1 = BlockRoutes(node: "n1", blocks: blocks, handleOwners: owners)
        #expect(n1.affineBlocks == ["10.250.0.0/28"])
        #expect(n1.borrowedAddresses == ["10.250.0.19/32", "fd00::5/128"])
        let n2 = BlockRoutes(node: "n2", blocks: blocks, handleOwners: owners)
        #expect(n2.affineBlocks == ["10.250.0.16/28"])
        #expect(n2.borrowedAddresses == ["10.250.0.2/32"])
    }

    @Test func requestedAddressesOnTheStore() async throws {
        try await withTemporaryDirectory { directory in
            let store = try StoreLocation.open("file:" + directory)
            let n1 = try BlockAllocator(store: store, node: "n1", pools: [pool])
            let n2 = try BlockAllocator(store: store, node: "n2", pools: [pool])
            _ = try await n1.allocate(handle: "net.a")
            // In n1's block: borrowed by n2; in the unclaimed block: claimed for n2 with its affinity.
            #expect(try await n2.allocate(handle: "net.b", requested: ["10.250.0.9", "10.250.0.20"]).map(\.description) == ["10.250.0.9/28", "10.250.0.20/28"])
            #expect(try await store.get(KeyLayout.affinity(node: "n2", block: "10.250.0.16/28")) != nil)
            #expect(try await store.get(KeyLayout.affinity(node: "n2", block: "10.250.0.0/28")) == nil)
            // Taken: an error, nothing written.
            let before = try await store.list(prefix: "/").revision
            await #expect(throws: IPAMError.self) { try await n1.allocate(handle: "net.c", requested: ["10.250.0.9"]) }
            #expect(try await store.list(prefix: "/").revision == before)
            // Two requested addresses in one unclaimed block: one claim.
            try await n2.release(handle: "net.b")
            #expect(try await n1.allocate(handle: "net.d", requested: ["10.250.0.17", "10.250.0.18"]).count == 2)
            let stored = try #require(try await store.get(KeyLayout.block("10.250.0.16/28")))
            #expect(try decodeRecord(AllocationBlock.self, stored.value, key: stored.key).allocations == ["1": "net.d", "2": "net.d"])
            let routes = BlockRoutes(
                node: "n1", blocks: try await store.list(prefix: KeyLayout.blocks).items.map { try decodeRecord(AllocationBlock.self, $0.value, key: $0.key) },
                handleOwners: ["net.a": "n1", "net.d": "n1"])
            #expect(routes.affineBlocks == ["10.250.0.0/28", "10.250.0.16/28"] && routes.borrowedAddresses.isEmpty)
        }
    }
}
