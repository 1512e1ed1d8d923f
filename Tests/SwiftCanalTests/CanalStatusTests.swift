#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// swift-canal's STATUS follows the real swift-canald and its swift-flanneld child (their
/// readiness files, CNISpec's `AgentReadiness`): not running, ready once the overlay is leased
/// and the policy programmed, stopped cleanly (subnet.env stays behind and no longer passes),
/// killed with SIGKILL.
@Suite("swift-canal STATUS with swift-canald", .serialized)
struct CanalStatusTests {
    func status(_ cluster: CanalCluster) throws -> PluginStatusAnswer {
        try cluster.nodes[0].pluginStatus(
            CanalCluster.binary("swift-canal"), configuration: ["type": "swift-canal", "name": "canal", "subnetFile": cluster.subnetFile(0)])
    }

    @Test(.privileged, .timeLimit(.minutes(1))) func statusFollowsTheAgent() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let cluster = try await CanalCluster(fabric: namespaces[0], nodes: [namespaces[1]])
            defer { cluster.tearDown() }
            let none = try status(cluster)
            #expect(none.code == 50 && none.message.contains("swift-canald is not running"), "\(none)")

            try cluster.start(0)
            let ready = await eventually(within: 20) { (try? status(cluster))?.isReady == true }
            #expect(ready, "\(String(describing: try? status(cluster))) \(cluster.log(0))")

            // SIGTERM: both agents withdraw; the subnet.env left behind does not pass.
            let agent = try #require(cluster.agents[0])
            cluster.agents[0] = nil
            _ = agent.terminate(graceMilliseconds: 5000)
            #expect(FileManager.default.fileExists(atPath: cluster.subnetFile(0)))
            let stopped = try status(cluster)
            #expect(stopped.code == 50 && stopped.message.contains("not running"), "\(stopped)")

            // SIGKILL: swift-canald's file stays behind, naming a dead process.
            try cluster.start(0)
            let again = await eventually(within: 20) { (try? status(cluster))?.isReady == true }
            #expect(again, "\(String(describing: try? status(cluster))) \(cluster.log(0))")
            let second = try #require(cluster.agents[0])
            cluster.agents[0] = nil
            #expect(second.signal(SIGKILL))
            _ = try second.wait()
            let killed = try status(cluster)
            #expect(killed.code == 50 && killed.message.contains("swift-canald") && killed.message.contains("no longer running"), "\(killed)")
            // Its swift-flanneld stops with it (parent-death signal); let it go before teardown.
            _ = await eventually(within: 5) { !FileManager.default.fileExists(atPath: cluster.subnetFile(0) + ".ready") }
        }
    }
}
