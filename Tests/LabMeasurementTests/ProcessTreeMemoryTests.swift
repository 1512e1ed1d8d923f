import ChildProcess
import Foundation
import LabMeasurement
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `ProcessTreeMemory`, behind `cnilab compare`'s agent memory row.
struct ProcessTreeMemoryTests {
    /// The agent memory row sums the agent's process tree: a shell with a subshell (which
    /// runs a sleep) and a sleep of its own counts all four processes, grandchild included.
    @Test func agentMemoryCountsTheWholeProcessTree() throws {
        let shell = try ChildProcess.launch("/bin/sh", arguments: ["-c", "(sleep 30; :) & sleep 30 & wait"])
        defer {
            for pid in Self.descendants(of: shell.pid) { kill(pid, SIGKILL) }
            _ = shell.terminate(graceMilliseconds: 0)
        }
        // Wait (up to 3 s) for the tree: sh -> {sh -> sleep, sleep}.
        var tree: [Int32] = []
        for _ in 0..<300 {
            tree = [shell.pid] + Self.descendants(of: shell.pid)
            if tree.count == 4 { break }
            usleep(10_000)
        }
        try #require(tree.count == 4, "process tree: \(tree)")
        let sizes = tree.compactMap { ProcessTreeMemory.residentKibibytes(of: $0) }
        try #require(sizes.count == 4 && sizes.allSatisfy { $0 > 0 }, "\(sizes)")
        let total = try #require(ProcessTreeMemory.residentKibibytes(root: shell.pid))
        // Sleeping processes: their RSS does not move between the two readings (± a page).
        #expect(abs(total - sizes.reduce(0, +)) <= 8, "tree \(total) KiB, processes \(sizes)")
        #expect(total > sizes[0] + 1, "only the root counted: \(total) KiB")
        #expect(ProcessTreeMemory.residentKibibytes(root: Int32.max) == nil)
    }

    /// Every descendant of `pid`, read independently of the code under test (/proc/*/stat PPid).
    static func descendants(of pid: Int32) -> [Int32] {
        var parents: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[parent, default: []].append(child) }
        }
        var result: [Int32] = []
        var pending = parents[pid] ?? []
        while let next = pending.popLast() {
            result.append(next)
            pending += parents[next] ?? []
        }
        return result
    }
}
