import Datastore
import Foundation
import Kubernetes
import KubernetesTestServer
import NetPrimitives
import TestSupport
import Testing

@testable import swift_calico_node

@Suite("swift-calico-node --kubeconfig: the mesh from Nodes, Calico's annotations and condition")
struct CalicoNodeKubeTests {
    @Test("annotations as libcalico-go reads them; peers need an IPv4Address annotation")
    func annotations() throws {
        var node = Node(name: "n2")
        #expect(CalicoNodeAnnotations.meshNode(from: node) == nil)
        node.annotations = ["projectcalico.org/IPv4Address": "10.0.0.2/24", "projectcalico.org/ASNumber": "64513"]
        #expect(CalicoNodeAnnotations.meshNode(from: node) == MeshNode(name: "n2", address: IPv4Address("10.0.0.2")!, asNumber: 64513))
        let address = try IPNetwork(parsing: "10.0.0.2/24")
        #expect(CalicoNodeAnnotations.updated(node, address: address, asNumber: 64513) == nil)
        let moved = try #require(CalicoNodeAnnotations.updated(node, address: try IPNetwork(parsing: "10.0.0.9/24"), asNumber: nil))
        #expect(moved.annotations["projectcalico.org/IPv4Address"] == "10.0.0.9/24")
        let entry = try #require(CalicoNodeAnnotations.networkAvailablePatch(time: "t")["status"]?["conditions"]?.arrayValue?.first)
        #expect(entry["reason"] == "CalicoIsUp" && entry["status"] == "False" && entry["message"] == "Calico is running on this node")
    }

    @Test("against the fixture: publish writes the annotations and NetworkUnavailable=False; the mesh follows the Nodes")
    func fixture() async throws {
        try await withTimeout(.seconds(40), "calico-node's Node source") {
            let directory = try TestDirectories.temporary(prefix: "swiftcni-calico-kube-")
            defer { TestDirectories.remove(directory) }
            let store = try FileDatastore(directory: directory + "/store", pollIntervalMilliseconds: 10, synchronousWrites: false)
            let fixture = try await APIServerFixture.start(store: store)
            do {
                _ = try await fixture.create(.nodes, object: Node(name: "n1").json)
                var peer = Node(name: "n2")
                peer.annotations = ["projectcalico.org/IPv4Address": "10.0.0.2/24"]
                _ = try await fixture.create(.nodes, object: peer.json)
                let kubeconfig = directory + "/kubeconfig"
                try """
                    apiVersion: v1
                    kind: Config
                    clusters: [{name: fixture, cluster: {server: "\(fixture.url)"}}]
                    users: [{name: agent, user: {}}]
                    contexts: [{name: fixture, context: {cluster: fixture, user: agent}}]
                    current-context: fixture
                    """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                let source = try KubeNodeSource(
                    kubeconfig: kubeconfig, node: "n1", address: try IPNetwork(parsing: "10.0.0.1/24"), asNumber: 64512,
                    logger: .init(label: "test"))
                try await source.publish()
                let own = Node(json: try await fixture.get(.nodes, name: "n1"))
                #expect(own.annotations == ["projectcalico.org/IPv4Address": "10.0.0.1/24", "projectcalico.org/ASNumber": "64512"])
                #expect(own.condition("NetworkUnavailable")?.status == "False")
                #expect(own.condition("NetworkUnavailable")?.reason == "CalicoIsUp")

                let changes = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
                let runner = Task { await source.run { changes.continuation.yield() } }
                defer { runner.cancel() }
                await source.waitUntilSynced()
                #expect(await source.meshNodes() == [MeshNode(name: "n2", address: IPv4Address("10.0.0.2")!, asNumber: nil)])
                var third = Node(name: "n3")
                third.annotations = ["projectcalico.org/IPv4Address": "10.0.0.3/24", "projectcalico.org/ASNumber": "65001"]
                _ = try await fixture.create(.nodes, object: third.json)
                var iterator = changes.stream.makeAsyncIterator()
                while await source.meshNodes().count < 2 { _ = await iterator.next() }
                #expect(await source.meshNodes().map(\.name) == ["n2", "n3"])
                #expect(await source.meshNodes().last?.asNumber == 65001)
                await fixture.shutdown()
            } catch {
                await fixture.shutdown()
                throw error
            }
        }
    }
}
