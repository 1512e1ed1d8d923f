#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Lab
import LabProfiles
import Testing
import TestSupport

/// `cnilab agent kill` on a canal node, as a crash would: swift-canald gets SIGKILL and its
/// swift-flanneld child stops with it (no orphan keeps the node's overlay), and the agent
/// starts again cleanly with a new child.
@Suite(.serialized) struct CanalAgentKillLabTests {
    /// The children of `pid` (every thread's list).
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        }
    }

    static func agentPid(directory: String, node: Int) -> Int32? {
        (try? String(contentsOfFile: directory + "/nodes/\(node)/agent.pid", encoding: .utf8))?
            .split(separator: " ").first.flatMap { Int32($0) }
    }

    @Test(.privileged) func killedCanaldTakesItsFlanneldAlong() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        var flanneldPids: [Int32] = []
        defer {
            _ = try? Lab.down(name: name, stateDirectory: directory)
            for pid in flanneldPids where LabTestSupport.isAlive(pid) { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: directory, profile: .canal, nodeCount: 1))
        let agent = try #require(Self.agentPid(directory: directory, node: 0))
        let flanneld = Self.children(of: agent)
        flanneldPids = flanneld
        try #require(flanneld.count == 1, "swift-canald's children: \(flanneld)")

        try await lab.killAgent(0)
        let gone = await eventually(within: 2) { !LabTestSupport.isAlive(flanneld[0]) }
        #expect(gone, "swift-flanneld \(flanneld[0]) outlived the killed swift-canald; see \(lab.agentLogPath(0))")
        #expect(await lab.nodes().first?.agent == .stopped)

        try await lab.startAgent(0)
        let restarted = try #require(Self.agentPid(directory: directory, node: 0))
        #expect(restarted != agent)
        let started = await eventually(within: 5) { Self.children(of: restarted).count == 1 }
        flanneldPids += Self.children(of: restarted)
        #expect(started, "the restarted swift-canald runs no swift-flanneld; see \(lab.agentLogPath(0))")
        #expect(await lab.nodes().first?.agent == .running)
    }
}
