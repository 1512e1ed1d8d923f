import Datastore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NetPrimitives
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import IPAM
@testable import IPAMCore

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
                ranges: [[HostLocalRange(subnet: "10.60.0.0/24")], [HostLocalRange(subnet: "fd00:60::/120")]], dataDir: directory)
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

    @Test func blockCyclesLeaveTheStoreAsItStarted() async throws {
        try await withTemporaryDirectory { directory in
            // No fsync here: the test is about bookkeeping; durability is tested in DatastoreTests.
            let store = try FileDatastore(directory: directory, synchronousWrites: false)
            let allocator = try BlockAllocator(store: store, node: "n1", pools: [BlockPool(cidr: "10.61.0.0/24", blockSize: 28)])
            _ = try await allocator.allocate(handle: "net.resident")
            let before = try await snapshot(store)
            for cycle in 0..<200 {
                let handle = "net.c\(cycle)"
                _ = try await allocator.allocate(handle: handle)
                #expect(try await allocator.release(handle: handle).count == 1)
            }
            #expect(try await snapshot(store) == before)
        }
    }

    /// Through the plugin binary: 1,000 ADD/DEL cycles of swift-ipam processes in block mode on
    /// a file store (four workers of 250), plus 200 in host-local mode.
    @Test func thousandPluginCyclesLeaveTheStateAsItStarted() async throws {
        try #require(access(PluginHarness.swiftIPAM, X_OK) == 0, "build swift-ipam first (swift build)")
        try await withTemporaryDirectory { directory in
            let hostLocal = try PluginHarness(directory: directory, configuration: """
                {"cniVersion":"1.0.0","name":"cyc","ipam":{"type":"swift-ipam","ranges":[[{"subnet":"10.62.0.0/24"}]],"dataDir":"\(directory)/data"}}
                """)
            let block = try PluginHarness(directory: directory, configuration: """
                {"cniVersion":"1.0.0","name":"cyc","ipam":{"type":"swift-ipam","mode":"block","pools":[{"cidr":"10.63.0.0/24"}],"datastore":"file:\(directory)/store","nodeName":"n1"}}
                """)
            #expect(try await hostLocal.run("ADD", "resident").0 == .exited(0))
            #expect(try await block.run("ADD", "resident").0 == .exited(0))
            let filesBefore = listDirectory("\(directory)/data/cyc").filter { !$0.hasPrefix("last_reserved_ip") }
            let store = try FileDatastore(directory: "\(directory)/store")
            let keysBefore = try await snapshot(store)
            let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var failed = 0
                        for cycle in 0..<250 {
                            // Block mode every cycle; host-local mode every fifth (its 1,000 cycles
                            // run in-process above).
                            for harness in cycle % 5 == 0 ? [block, hostLocal] : [block] {
                                let id = "w\(worker)c\(cycle)"
                                if try await harness.run("ADD", id).0 != .exited(0) { failed += 1 }
                                if try await harness.run("DEL", id).0 != .exited(0) { failed += 1 }
                            }
                        }
                        return failed
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(failures == 0)
            #expect(listDirectory("\(directory)/data/cyc").filter { !$0.hasPrefix("last_reserved_ip") } == filesBefore)
            #expect(try await snapshot(store) == keysBefore)
        }
    }
}
