#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Namespaces
import Testing
import TestSupport

/// swift-calico's STATUS follows the real swift-calico-node (its readiness file in
/// `--state-dir`, CNISpec's `AgentReadiness`): not running, ready after its first reconcile,
/// stopped cleanly, killed with SIGKILL.
@Suite(.serialized) struct CalicoStatusTests {
    func status(_ cluster: CalicoCluster) throws -> PluginStatusAnswer {
        let harness = cluster.harnesses[0]
        return try cluster.nodes[0].pluginStatus(
            TestDirectories.products + "/swift-calico",
            configuration: [
                "type": "swift-calico", "name": "k8s-pod-network", "datastore": "file:" + harness.storeDirectory,
                "nodeName": harness.nodeName, "readinessFile": harness.readinessFile,
                "ipam": ["type": "calico-ipam", "pools": [["cidr": "10.244.0.0/16", "blockSize": 26]]],
            ])
    }

    @Test(.privileged, .timeLimit(.minutes(1))) func statusFollowsTheAgent() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let cluster = try CalicoCluster(fabric: namespaces[0], nodes: [namespaces[1]], directory: directory)
            defer { cluster.stopAll() }
            let none = try status(cluster)
            #expect(none.code == 50 && none.message.contains("swift-calico-node is not running"), "\(none)")

            try cluster.startAgent(0)
            let ready = await eventually(within: 15) { (try? status(cluster))?.isReady == true }
            #expect(ready, "\(String(describing: try? status(cluster))) \(cluster.agentLog(0))")

            cluster.stopAgent(0, signal: SIGTERM)
            let stopped = try status(cluster)
            #expect(stopped.code == 50 && stopped.message.contains("not running"), "\(stopped)")

            try cluster.startAgent(0)
            let again = await eventually(within: 15) { (try? status(cluster))?.isReady == true }
            #expect(again, "\(String(describing: try? status(cluster))) \(cluster.agentLog(0))")
            cluster.stopAgent(0, signal: SIGKILL)
            #expect(FileManager.default.fileExists(atPath: cluster.harnesses[0].readinessFile))
            let killed = try status(cluster)
            #expect(killed.code == 50 && killed.message.contains("is no longer running"), "\(killed)")
        }
    }
}
