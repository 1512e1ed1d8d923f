import ChildProcess
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
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct SwiftIPAMPluginTests {
    init() throws {
        try #require(access(PluginHarness.swiftIPAM, X_OK) == 0, "build swift-ipam first (swift build)")
    }

    static func hostLocalConfiguration(_ directory: String, subnet: String = "10.30.0.0/24") -> String {
        """
        {"cniVersion":"1.0.0","name":"hl","ipam":{"type":"swift-ipam","ranges":[[{"subnet":"\(subnet)"}]],"dataDir":"\(directory)/data"}}
        """
    }

    @Test func fiftyParallelAddsAreUniqueAndParallelDelsReturnEverything() async throws {
        try await withTemporaryDirectory { directory in
            let harness = try PluginHarness(directory: directory, configuration: Self.hostLocalConfiguration(directory))
            let ids = (0..<50).map { "pod\($0)" }
            let added = try await harness.parallel("ADD", containerIDs: ids)
            let addresses = ids.compactMap { ParsedResult.parse(added[$0]!.1)?.addresses.first }
            #expect(added.values.allSatisfy { $0.0 == .exited(0) }, "\(added.values.filter { $0.0 != .exited(0) }.map(\.1))")
            #expect(addresses.count == 50 && Set(addresses).count == 50)
            let files = listDirectory("\(directory)/data/hl").filter { IPAddress($0) != nil }
            #expect(Set(files) == Set(addresses))
            let deleted = try await harness.parallel("DEL", containerIDs: ids)
            #expect(deleted.values.allSatisfy { $0.0 == .exited(0) })
            #expect(listDirectory("\(directory)/data/hl") == ["last_reserved_ip.0", "lock"])
        }
    }

    @Test func requestedAddressesCheckStatusAndVersions() async throws {
        try await withTemporaryDirectory { directory in
            let base = Self.hostLocalConfiguration(directory, subnet: "10.32.0.0/24")
            let harness = try PluginHarness(directory: directory, configuration: base)
            let (status, output) = try await harness.run("ADD", "byargs", extra: ["CNI_ARGS": "IgnoreUnknown=1;IP=10.32.0.77"])
            #expect(status == .exited(0) && ParsedResult.parse(output)?.addresses == ["10.32.0.77"], "\(output)")
            let runtime = try PluginHarness(
                directory: directory,
                configuration: String(base.dropLast()) + ",\"runtimeConfig\":{\"ips\":[\"10.32.0.88/24\"]}}")
            #expect(ParsedResult.parse(try await runtime.run("ADD", "byruntime").1)?.addresses == ["10.32.0.88"])
            // The same address again is refused with a CNI error on stdout.
            let (refused, error) = try await runtime.run("ADD", "other")
            #expect(refused != .exited(0) && ParsedResult.parse(error)?.code != nil, "\(error)")
            #expect(try await harness.run("CHECK", "byargs").0 == .exited(0))
            #expect(try await harness.run("CHECK", "nobody").0 != .exited(0))
            // An old result version: 0.2.0's ip4 shape.
            let old = try PluginHarness(directory: directory, configuration: base.replacingOccurrences(of: "\"1.0.0\"", with: "\"0.2.0\""))
            let (_, legacy) = try await old.run("ADD", "legacy")
            #expect(legacy.contains("\"ip4\"") && legacy.contains("10.32.0."), "\(legacy)")
            // Bad names never reach the file system.
            let escaping = try PluginHarness(directory: directory, configuration: base.replacingOccurrences(of: "\"name\":\"hl\"", with: "\"name\":\"../../etc\""))
            let (escaped, message) = try await escaping.run("ADD", "evil")
            #expect(escaped != .exited(0) && ParsedResult.parse(message)?.code == 7, "\(message)")
            // STATUS of a datastore mode whose store does not answer: code 50.
            let unreachable = try PluginHarness(directory: directory, configuration: """
                {"cniVersion":"1.1.0","name":"blk","ipam":{"type":"swift-ipam","mode":"block","pools":[{"cidr":"10.33.0.0/24"}],"datastore":"etcd:http://127.0.0.1:1"}}
                """)
            let (down, report) = try await unreachable.run("STATUS", "")
            #expect(down != .exited(0) && ParsedResult.parse(report)?.code == 50, "\(report)")
        }
    }

    /// Both plugins at once on one network: they share host-local's lock file, so 25 + 25
    /// concurrent ADDs get 50 different addresses.
    @Test func referenceHostLocalAndSwiftIPAMRunningConcurrentlyNeverCollide() async throws {
        try await withTemporaryDirectory { directory in
            let swift = try PluginHarness(directory: directory, configuration: Self.hostLocalConfiguration(directory))
            var reference = swift
            reference.plugin = PluginHarness.hostLocal
            var processes: [(PluginHarness, String, RunningProcess)] = []
            for index in 0..<25 {
                processes.append((swift, "s\(index)", try swift.launch("ADD", "s\(index)")))
                processes.append((reference, "r\(index)", try reference.launch("ADD", "r\(index)")))
            }
            var addresses: [String] = []
            for (harness, id, process) in processes {
                #expect(try await waitOffPool(process) == .exited(0))
                if let address = ParsedResult.parse(readText(harness.outputPath("ADD", id)) ?? "")?.addresses.first { addresses.append(address) }
            }
            #expect(addresses.count == 50 && Set(addresses).count == 50)
        }
    }

    @Test func referenceHostLocalAndSwiftIPAMHonourEachOthersReservations() async throws {
        try await withTemporaryDirectory { directory in
            let configuration = Self.hostLocalConfiguration(directory, subnet: "10.31.0.0/29")  // .2-.6 usable
            let swift = try PluginHarness(directory: directory, configuration: configuration)
            var reference = swift
            reference.plugin = PluginHarness.hostLocal
            var owners: [String: String] = [:]
            for index in 0..<5 {
                let (status, output) = try await (index % 2 == 0 ? reference : swift).run("ADD", "c\(index)")
                #expect(status == .exited(0), "\(output)")
                let address = try #require(ParsedResult.parse(output)?.addresses.first)
                #expect(owners[address] == nil)
                owners[address] = "c\(index)"
            }
            #expect(owners.count == 5)
            // The range is full for both plugins.
            #expect(try await swift.run("ADD", "x").0 != .exited(0))
            #expect(try await reference.run("ADD", "y").0 != .exited(0))
            // Each plugin releases what the other reserved.
            #expect(try await swift.run("DEL", "c0").0 == .exited(0))
            #expect(try await reference.run("DEL", "c1").0 == .exited(0))
            #expect(!owners.filter { ["c0", "c1"].contains($0.value) }.keys.contains { listDirectory("\(directory)/data/hl").contains($0) })
            let (_, again) = try await reference.run("ADD", "c9")
            #expect(ParsedResult.parse(again)?.addresses.first.map { owners[$0] == "c0" || owners[$0] == "c1" } == true)
        }
    }

    @Test func aProcessKilledMidAddLeavesNothingThatSurvivesGC() async throws {
        try await withTemporaryDirectory { directory in
            for mode in ["host-local", "block"] {
                let configuration = mode == "host-local"
                    ? Self.hostLocalConfiguration(directory)
                    : """
                    {"cniVersion":"1.1.0","name":"kb","ipam":{"type":"swift-ipam","mode":"block","pools":[{"cidr":"10.40.0.0/24","blockSize":28}],"datastore":"file:\(directory)/store","nodeName":"n1"}}
                    """
                let harness = try PluginHarness(directory: directory, configuration: configuration)
                let ids = (0..<20).map { "k\(mode.count)x\($0)" }
                let processes = try ids.map { ($0, try harness.launch("ADD", $0)) }
                // Kill them one by one, 0.3 ms apart: some before, some during, some after their
                // ADD (a whole ADD takes a few milliseconds, process start included).
                for (_, process) in processes {
                    usleep(300)
                    process.signal(SIGKILL)
                }
                var survivors: [String] = []
                for (id, process) in processes where try await waitOffPool(process) == .exited(0) { survivors.append(id) }
                let valid = survivors.map { "{\"containerID\":\"\($0)\",\"ifname\":\"eth0\"}" }.joined(separator: ",")
                // GC exists from CNI 1.1.0 on.
                let gcConfiguration = String(configuration.dropLast()).replacingOccurrences(of: "\"1.0.0\"", with: "\"1.1.0\"")
                    + ",\"cni.dev/valid-attachments\":[\(valid)]}"
                let gc = try PluginHarness(directory: directory, configuration: gcConfiguration)
                #expect(survivors.count < 20, "nothing was killed")
                let (status, output) = try await gc.run("GC", "")
                #expect(status == .exited(0), "\(output)")
                if mode == "host-local" {
                    let store = try HostLocalDiskStore(network: "hl", dataDirectory: "\(directory)/data")
                    let holders = Set(try store.reservations().map(\.containerID))
                    #expect(holders == Set(survivors), "killed \(20 - survivors.count)")
                    #expect(!listDirectory("\(directory)/data/hl").contains { $0.hasPrefix(".swiftcni-tmp") })
                } else {
                    let store = try FileDatastore(directory: "\(directory)/store")
                    let handles = try await store.list(prefix: KeyLayout.blocks).items.flatMap { item in
                        (try? JSONDecoder().decode(AllocationBlock.self, from: Data(item.value)))?.allocations.values.map { String($0) } ?? []
                    }
                    #expect(Set(handles) == Set(survivors.map { "kb.\($0)" }), "killed \(20 - survivors.count)")
                    #expect(handles.count == survivors.count)
                }
            }
        }
    }
}
