import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// swift-flannel's STATUS follows the real swift-flanneld (its readiness file, CNISpec's
/// `AgentReadiness`): not running, waiting for the network configuration, ready, stopped
/// cleanly (subnet.env stays behind and no longer passes) and killed with SIGKILL.
@Suite("swift-flannel STATUS with swift-flanneld", .serialized)
struct FlannelStatusTests {
    static var plugin: String { (FlannelCluster.binary as NSString).deletingLastPathComponent + "/swift-flannel" }

    func status(_ cluster: FlannelCluster) throws -> PluginStatusAnswer {
        try cluster.nodes[0].pluginStatus(Self.plugin, configuration: ["type": "swift-flannel", "subnetFile": cluster.subnetFile(0)])
    }

    @Test("STATUS: 50 while the agent is down, waiting or killed -9; ready once it leased the subnet",
          .privileged, .timeLimit(.minutes(1)))
    func statusFollowsTheAgent() async throws {
        try await FlannelCluster.with(nodes: 1) { cluster in
            let none = try status(cluster)
            #expect(none.code == 50 && none.message.contains("swift-flanneld is not running"), "\(none)")

            // Started before flannel's configuration exists: running, not ready.
            try cluster.start(0)
            #expect(cluster.eventually { FileManager.default.fileExists(atPath: cluster.subnetFile(0) + ".ready") }, "\(cluster.log(0))")
            let waiting = try status(cluster)
            #expect(waiting.code == 50 && waiting.message.contains("has not configured this node yet"), "\(waiting)")

            try await cluster.writeConfiguration(FlannelAgentClusterTests.vxlan)
            #expect(try cluster.eventually { try status(cluster).isReady }, "\(String(describing: try? status(cluster))) \(cluster.log(0))")

            // A clean stop withdraws readiness; the subnet.env left behind does not pass.
            #expect(cluster.stop(0))
            #expect(cluster.subnetEnvironment(0) != nil)
            let stopped = try status(cluster)
            #expect(stopped.code == 50 && stopped.message.contains("not running"), "\(stopped)")

            // Killed with SIGKILL: the file stays, naming a dead process.
            try cluster.start(0)
            #expect(try cluster.eventually { try status(cluster).isReady }, "\(String(describing: try? status(cluster))) \(cluster.log(0))")
            let agent = try #require(cluster.agents[0])
            #expect(agent.signal(SIGKILL))
            _ = agent.terminate(graceMilliseconds: 5000)
            cluster.agents[0] = nil
            #expect(FileManager.default.fileExists(atPath: cluster.subnetFile(0) + ".ready"))
            let killed = try status(cluster)
            #expect(killed.code == 50 && killed.message.contains("is no longer running"), "\(killed)")

            // A restart is ready again.
            try cluster.start(0)
            #expect(try cluster.eventually { try status(cluster).isReady }, "\(String(describing: try? status(cluster))) \(cluster.log(0))")
            #expect(cluster.stop(0))
        }
    }
}
