import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Handles from many tasks", .serialized)
struct ConcurrencyTests {
    /// The network namespace inode of every thread of the process.
    static func threadNamespaces() -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for task in tasks {
            var info = stat()
            if stat("/proc/self/task/\(task)/ns/net", &info) == 0 { result[task] = UInt64(info.st_ino) }
        }
        return result
    }

    @Test("200 concurrent tasks on handles for 4 namespaces leave every thread in the original namespace", .privileged)
    func manyTasks() async throws {
        let original = try #require(NetworkNamespace.currentInode())
        try await NamespaceFixture.with(count: 4) { namespaces in
            let handles = try namespaces.map { try NetlinkHandle(namespace: $0) }
            for (index, handle) in handles.enumerated() {
                try handle.addLink(.veth(try InterfaceName("c\(index)"), peer: try InterfaceName("d\(index)")))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<200 {
                    group.addTask {
                        let index = task % 4
                        let handle = handles[index]
                        let names = try handle.links().map(\.name)
                        #expect(names.contains("c\(index)"))
                        #expect(!names.contains("c\((index + 1) % 4)"))
                        if task % 10 == 0 { #expect(try handle.sysctl("net.ipv4.ip_forward") == "0") }
                        let address = try IPNetwork(parsing: "10.\(index).\(task / 4).1/32")
                        try handle.addAddress(Address(address), device: try InterfaceName("c\(index)"))
                        await Task.yield()
                        #expect(NetworkNamespace.currentInode() == original)
                    }
                }
                try await group.waitForAll()
            }
            for (index, handle) in handles.enumerated() {
                #expect(try handle.addresses(device: try InterfaceName("c\(index)")).count == 50)
            }
        }
        // Dedicated threads of other suites may still be finishing: give them a moment.
        var strays: [String: UInt64] = [:]
        for _ in 0..<40 {
            strays = Self.threadNamespaces().filter { $0.value != original }
            if strays.isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(strays.isEmpty, "threads outside the original namespace: \(strays)")
        #expect(!Self.threadNamespaces().isEmpty)
    }

    @Test("dumps taken while another task changes the table succeed and never go backwards", .privileged)
    func dumpsDuringChanges() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let writer = try NetlinkHandle(namespace: namespaces[0])
            let reader = try NetlinkHandle(namespace: namespaces[0])
            try writer.addLink(.veth("w0", peer: "w1"))
            try writer.setLinkUp("w0")
            let hosts = Array(try IPNetwork(parsing: "10.128.0.0/16").subnets(prefixLength: 32).prefix(4000))
            let writing = Task { () throws -> Void in
                for chunk in stride(from: 0, to: hosts.count, by: 200) {
                    var batch = NetlinkRequestBatch()
                    for host in hosts[chunk..<min(chunk + 200, hosts.count)] { batch.addRoute(Route(destination: host, device: "w0")) }
                    let failures = try writer.apply(batch)
                    #expect(failures.isEmpty)
                    await Task.yield()
                }
            }
            var last = 0
            for _ in 0..<40 {
                let count = try reader.routes().count
                #expect(count >= last)
                last = count
            }
            try await writing.value
            #expect(try reader.routes().count == hosts.count)
            let retries = try reader.withSocket { $0.interruptedDumps }
            #expect(retries >= 0)
        }
    }
}
