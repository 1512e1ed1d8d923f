#if canImport(Glibc)
import Glibc
#endif
import Datastore
import Foundation
import Kubernetes
import KubernetesTestServer
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// swift-calico-node --kubeconfig end to end: the fixture API server serves inside the test's
/// fabric namespace (192.168.100.254:6443); the BGP mesh comes from the Nodes.
@Suite(.serialized) struct CalicoNodeKubeLabTests {
    @Test("2 nodes: Calico's annotations and condition written, the mesh from the Nodes (a Node only in the API is peered), pods connect",
          .privileged, .timeLimit(.minutes(1)))
    func meshFromNodes() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-kube-")
        defer { TestDirectories.remove(directory) }
        try await withTimeout(.seconds(50), "the calico kube lab") {
            try await NamespaceFixture.with(count: 5) { namespaces in
                let cluster = try CalicoCluster(fabric: namespaces[0], nodes: Array(namespaces[1...2]), directory: directory)
                defer { cluster.stopAll() }
                let descriptor = try await cluster.fabric.run { try ListeningSocket.tcp(address: "192.168.100.254", port: 6443) }
                let store = try FileDatastore(directory: directory + "/kube-store", pollIntervalMilliseconds: 10, synchronousWrites: false)
                let fixture = try await APIServerFixture.start(store: store, host: "192.168.100.254", boundSocket: descriptor)
                do {
                    for name in ["node-1", "node-2"] { _ = try await fixture.create(.nodes, object: Node(name: name).json) }
                    var ghost = Node(name: "ghost")
                    ghost.annotations = ["projectcalico.org/IPv4Address": "192.168.100.99/24"]
                    _ = try await fixture.create(.nodes, object: ghost.json)
                    let kubeconfig = directory + "/kubeconfig"
                    try """
                        apiVersion: v1
                        kind: Config
                        clusters: [{name: lab, cluster: {server: "\(fixture.url)"}}]
                        users: [{name: agent, user: {}}]
                        contexts: [{name: lab, context: {cluster: lab, user: agent}}]
                        current-context: lab
                        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                    let pods = Array(namespaces[3...4])
                    let addresses = [
                        try await cluster.addPod(pods[0], node: 0, id: "pod-1"), try await cluster.addPod(pods[1], node: 1, id: "pod-2"),
                    ]
                    for index in 0..<2 {
                        cluster.agents[index] = try cluster.nodes[index].launchProcess(
                            TestDirectories.products + "/swift-calico-node",
                            arguments: [
                                "--node", "node-\(index + 1)", "--config", cluster.configPath, "--store",
                                "file:" + cluster.harnesses[index].storeDirectory, "--address", cluster.nodeAddress(index),
                                "--state-dir", directory + "/state-\(index + 1)", "--resync-interval-ms", "300", "--kubeconfig", kubeconfig,
                            ],
                            standardError: .file(directory + "/agent-\(index + 1).log"))
                    }
                    for index in 0..<2 {
                        let learned = try await eventually(within: 20) { try cluster.bgpRoutes(index).count == 1 }
                        let routes = try cluster.bgpRoutes(index)
                        #expect(learned, "node \(index + 1): \(routes)\n\(cluster.agentLog(index))")
                        let node = Node(json: try await fixture.get(.nodes, name: "node-\(index + 1)"))
                        #expect(node.annotations == [
                            "projectcalico.org/IPv4Address": "\(cluster.nodeAddress(index))/24", "projectcalico.org/ASNumber": "64512",
                        ])
                        #expect(node.condition("NetworkUnavailable")?.status == "False")
                        #expect(node.condition("NetworkUnavailable")?.reason == "CalicoIsUp")
                        #expect(cluster.agentLog(index).contains("node ghost (192.168.100.99) joined"), "\(cluster.agentLog(index))")
                    }
                    #expect(try pods[0].ping(addresses[1]))
                    #expect(try pods[1].ping(addresses[0]))
                    cluster.stopAll()
                    await fixture.shutdown()
                } catch {
                    cluster.stopAll()
                    await fixture.shutdown()
                    throw error
                }
            }
        }
    }
}
