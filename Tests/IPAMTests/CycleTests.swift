import Datastore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetPrimitives
import Testing
@testable import IPAM

/// 1,000 ADD/DEL cycles leave the state as it started (apart from host-local's round-robin
/// cursor `last_reserved_ip.N`).
@Suite struct CycleTests {
    /// Keys with their decoded blocks (JSON object key order is not stable).
    func snapshot(_ store: any Datastore) async throws -> [String: String] {
        var result: [String: String] = [:]
        for item in try await store.list(prefix: "/").items {
            if let block = try? JSONDecoder().decode(AllocationBlock.self, from: Data(item.value)) {
                result[item.key] = "\(block.cidr) \(block.affinity ?? "-") \(block.allocations.sorted { $0.key < $1.key })"
            } else {
                result[item.key] = item.string
            }
        }
        return result
    }

    @Test func thousandHostLocalCyclesLeaveOnlyTheCursor() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = HostLocalConfiguration(
                ranges: [[AddressRange(subnet: "10.60.0.0/24")], [AddressRange(subnet: "fd00:60::/120")]], dataDir: directory)
            let allocator = try HostLocalAllocator(network: "cycles", configuration: configuration)
            _ = try allocator.allocate(containerID: "resident", interfaceName: "eth0")
            let before = listDirectory("\(directory)/cycles")
            // Synchronous file work: off the concurrency pool, which the parallel tests share.
            let released = try await offPool {
                try (0..<1000).map { cycle in
                    let id = "c\(cycle)"
                    _ = try allocator.allocate(containerID: id, interfaceName: "eth0")
                    return try allocator.release(containerID: id, interfaceName: "eth0").count
                }
            }
            #expect(released.allSatisfy { $0 == 2 })
            #expect(listDirectory("\(directory)/cycles") == before)
            #expect(try allocator.store.reservations().map(\.containerID) == ["resident", "resident"])
        }
    }

    @Test func thousandBlockCyclesLeaveTheStoreAsItStarted() async throws {
        try await withTemporaryDirectory { directory in
            // No fsync here: the test is about bookkeeping; durability is tested in DatastoreTests.
            let store = try FileDatastore(directory: directory, synchronousWrites: false)
            let allocator = try BlockAllocator(store: store, node: "n1", pools: [BlockPool(cidr: "10.61.0.0/24", blockSize: 28)])
            _ = try await allocator.allocate(handle: "net.resident")
            let before = try await snapshot(store)
            for cycle in 0..<1000 {
                let handle = "net.c\(cycle)"
                _ = try await allocator.allocate(handle: handle)
                #expect(try await allocator.release(handle: handle).count == 1)
            }
            #expect(try await snapshot(store) == before)
        }
    }
}
