#if canImport(Glibc)
import Glibc
#endif
import Testing
import Namespaces
import TestSupport

/// The namespace inode of every thread of this process, read from /proc, except the
/// short-lived dedicated threads that other tests running in parallel may have inside a
/// namespace right now.
private func threadNamespaceInodes() -> [Int32: UInt64] {
    var result: [Int32: UInt64] = [:]
    guard let directory = opendir("/proc/self/task") else { return result }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        guard let tid = Int32(name) else { continue }
        if let comm = try? readFirstLine("/proc/self/task/\(tid)/comm"), comm == NetworkNamespace.dedicatedThreadName { continue }
        var info = stat()
        if stat("/proc/self/task/\(tid)/ns/net", &info) == 0 { result[tid] = UInt64(info.st_ino) }
    }
    return result
}

private func readFirstLine(_ path: String) throws -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 64)
    guard fgets(&buffer, 64, file) != nil else { return nil }
    return String(cString: buffer).trimmingSuffix()
}

private extension String {
    func trimmingSuffix() -> String { var text = self; while text.last == "\n" { text.removeLast() }; return text }
}

@Suite(.serialized) struct NetworkNamespaceTests {
    @Test func rejectsBadNamesWithoutRoot() {
        for name in ["", ".", "..", "a/b"] {
            #expect(throws: NamespaceError.self) { try NetworkNamespace.open(name: name) }
        }
        #expect(throws: NamespaceError.self) { try NetworkNamespace.open(path: "/nonexistent/netns") }
        #expect(!NetworkNamespace.exists(name: "swcni-t-never-created"))
    }

    @Test(.privileged) func createsRunsInAndDeletes() async throws {
        let name = NamespaceFixture.uniqueNames(1)[0]
        let host = try #require(NetworkNamespace.currentInode())
        let namespace = try NetworkNamespace.create(name: name)
        defer { try? NetworkNamespace.delete(name: name) }
        #expect(NetworkNamespace.exists(name: name))
        #expect(NetworkNamespace.list().contains(name))
        #expect(namespace.inode != host)
        #expect(try NetworkNamespace.open(name: name).inode == namespace.inode)
        #expect(throws: NamespaceError.self) { try NetworkNamespace.create(name: name) }

        let inside = try await namespace.run { NetworkNamespace.currentInode() }
        #expect(inside == namespace.inode)
        #expect(NetworkNamespace.currentInode() == host)
        #expect(try namespace.runBlocking { NetworkNamespace.currentInode() } == namespace.inode)

        // A process spawned through the namespace starts in it: only "lo" exists, and it is up.
        let links = try namespace.runProcess("/usr/sbin/ip", arguments: ["-o", "link", "show"])
        #expect(links.status.isSuccess)
        let lines = links.standardOutputText.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("lo:") && lines[0].contains("UP"))

        try NetworkNamespace.delete(name: name)
        #expect(!NetworkNamespace.exists(name: name))
        try NetworkNamespace.delete(name: name)  // deleting again is fine
    }

    @Test(.privileged) func errorsInsideTheNamespaceReachTheCaller() async throws {
        struct Expected: Error {}
        try await NamespaceFixture.with(count: 1) { namespaces in
            await #expect(throws: Expected.self) { try await namespaces[0].run { throw Expected() } }
            #expect(throws: Expected.self) { try namespaces[0].runBlocking { throw Expected() } }
        }
    }

    /// 200 concurrent tasks each run work in one of 4 namespaces; afterwards every thread of
    /// the process, cooperative pool included, is still in the original namespace.
    @Test(.privileged) func poolThreadsNeverChangeNamespace() async throws {
        let host = try #require(NetworkNamespace.currentInode())
        try await NamespaceFixture.with(count: 4) { namespaces in
            let seen = try await withThrowingTaskGroup(of: (Int, UInt64?, UInt64?).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let namespace = namespaces[index % 4]
                        let inside = try await namespace.run { NetworkNamespace.currentInode() }
                        await Task.yield()
                        return (index, inside, NetworkNamespace.currentInode())
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(seen.count == 200)
            for (index, inside, after) in seen {
                #expect(inside == namespaces[index % 4].inode)
                #expect(after == host)
            }
        }
        let threads = threadNamespaceInodes()
        #expect(!threads.isEmpty)
        for (tid, inode) in threads {
            #expect(inode == host, "thread \(tid) is in namespace \(inode), not \(host)")
        }
    }

    @Test(.privileged) func launchesADaemonInsideTheNamespace() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let process = try namespaces[0].launchProcess("/bin/sleep", arguments: ["30"])
            defer { process.terminate(graceMilliseconds: 1000) }
            var info = stat()
            #expect(stat("/proc/\(process.pid)/ns/net", &info) == 0)
            #expect(UInt64(info.st_ino) == namespaces[0].inode)
        }
    }
}
