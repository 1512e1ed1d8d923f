#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Foundation
import Namespaces
import TestSupport
import Testing

/// swift-canald's swift-flanneld child does not outlive it: killed with SIGKILL (no chance to
/// stop its child), the agent leaves no swift-flanneld holding the node's overlay; and
/// swift-flanneld started under a parent other than its `--parent-pid` stops at once.
@Suite("swift-canald supervision", .serialized)
struct CanalSupervisionTests {
    /// Alive and not a zombie (an orphan's zombie may wait for a reaper that never comes).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")"), stat.index(close, offsetBy: 2) < stat.endIndex
        else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    @Test(.privileged) func flanneldDiesWhenCanaldIsKilled() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let cluster = try await CanalCluster(fabric: namespaces[0], nodes: [namespaces[1]])
            var orphans: [Int32] = []
            defer {
                // Never leave a process this test started behind, whatever the outcome.
                for pid in orphans where Self.isAlive(pid) { kill(pid, SIGKILL) }
                cluster.tearDown()
            }
            try cluster.start(0)
            let leased = await eventually(within: 15) { FileManager.default.fileExists(atPath: cluster.subnetFile(0)) }
            try #require(leased, "subnet.env not written: \(cluster.log(0))")
            let agent = try #require(cluster.agents[0])
            let children = CanalClusterTests.children(of: agent.pid)
            orphans = children
            try #require(children.count == 1, "swift-canald's children: \(children)")
            let flanneld = children[0]
            #expect((try? String(contentsOfFile: "/proc/\(flanneld)/comm", encoding: .utf8))?.hasPrefix("swift-flanneld") == true)

            cluster.agents[0] = nil
            #expect(agent.signal(SIGKILL))
            #expect(try agent.wait() == .signaled(SIGKILL))
            let gone = await eventually(within: 2) { !Self.isAlive(flanneld) }
            #expect(gone, "swift-flanneld \(flanneld) outlived the SIGKILLed swift-canald by 2 s: \(cluster.log(0))")
        }
    }

    @Test(.privileged) func flanneldStopsWhenItsParentIsNotTheExpectedOne() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let cluster = try await CanalCluster(fabric: namespaces[0], nodes: [namespaces[1]])
            defer { cluster.tearDown() }
            // Its real parent is this test process: as if the expected parent had died before
            // swift-flanneld asked for the parent-death signal.
            let flanneld = try namespaces[1].launchProcess(
                CanalCluster.binary("swift-flanneld"),
                arguments: ["--node", "node-1", "--iface", "eth0", "--store", "file:" + cluster.directory + "/store",
                            "--subnet-file", cluster.subnetFile(0), "--parent-pid", String(getpid() + 1_000_000)],
                standardError: .file(cluster.logFile(0)))
            cluster.agents[0] = flanneld
            let stopped = await eventually(within: 2) { flanneld.poll() != nil }
            if stopped { cluster.agents[0] = nil }
            #expect(stopped, "swift-flanneld kept running under the wrong parent: \(cluster.log(0))")
            #expect(cluster.log(0).contains("is gone"), "\(cluster.log(0))")
        }
    }
}
