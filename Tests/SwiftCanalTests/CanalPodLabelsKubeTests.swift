#if canImport(Glibc)
import Glibc
#endif
import CNISpec
import Datastore
import Foundation
import Kubernetes
import KubernetesTestServer
import Lab
import Namespaces
import Testing
import TestSupport

/// swift-canal with Calico's `kubernetes.kubeconfig`: ADD reads the pod from the API server (the
/// fixture over TLS with a token, listening on the node's own address inside the node
/// namespace) and writes its labels and named ports into the pod record swift-canald's policy
/// agent reads. subnet.env is written by the test (no swift-canald needed for one ADD).
@Suite(.serialized) struct CanalPodLabelsKubeTests {
    @Test("ADD writes the pod's labels and named ports from the API; a missing token fails ADD saying so", .privileged, .timeLimit(.minutes(1)))
    func labelsAtAdd() async throws {
        try await withTimeout(.seconds(50), "the canal pod-label test") {
            try await NamespaceFixture.with(count: 3) { namespaces in
                let cluster = try await CanalCluster(fabric: namespaces[0], nodes: [namespaces[1]])
                defer { cluster.tearDown() }
                let directory = cluster.directory
                try "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n"
                    .write(toFile: cluster.subnetFile(0), atomically: true, encoding: .utf8)
                try FileManager.default.createDirectory(atPath: directory + "/pki", withIntermediateDirectories: true)
                let pki = try EtcdCertificates.generate(in: directory + "/pki", serverAddresses: ["192.168.60.11"])
                let descriptor = try await namespaces[1].run { try ListeningSocket.tcp(address: "192.168.60.11", port: 6443) }
                let kubeStore = try FileDatastore(directory: directory + "/kube-store", pollIntervalMilliseconds: 10, synchronousWrites: false)
                let fixture = try await APIServerFixture.start(
                    store: kubeStore, host: "192.168.60.11", boundSocket: descriptor,
                    tls: FixtureTLS(certificatePath: pki.serverCertificateFile, privateKeyPath: pki.serverKeyFile), tokens: ["canal-token"])
                do {
                    _ = try await fixture.create(.namespaces, object: Namespace(name: "shop").json)
                    var pod = Pod(name: "db", namespace: "shop")
                    pod.labels = ["app": "db", "role": "primary"]
                    pod.json["spec"] = [
                        "containers": [["name": "pg", "image": "postgres", "ports": [["name": "pg", "containerPort": 5432], ["name": "metrics", "containerPort": 9187, "protocol": "TCP"]]]]
                    ]
                    _ = try await fixture.create(.pods, namespace: "shop", object: pod.json)
                    func conflist(user: String) throws -> NetworkConfigurationList {
                        let kubeconfig = directory + "/kubeconfig-\(user.count)"
                        try """
                            {"apiVersion": "v1", "kind": "Config", "current-context": "lab",
                             "clusters": [{"name": "lab", "cluster": {"server": "\(fixture.url)", "certificate-authority": "\(pki.caFile)"}}],
                             "users": [{"name": "canal", "user": \(user)}],
                             "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "canal"}}]}
                            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                        let json = """
                            {"cniVersion":"1.0.0","name":"canal","plugins":[{"type":"swift-canal","subnetFile":"\(cluster.subnetFile(0))",
                             "dataDir":"\(directory)/ipam-1","datastore":"file:\(directory)/store","nodeName":"node-1",
                             "kubernetes":{"kubeconfig":"\(kubeconfig)"}}]}
                            """
                        return try NetworkConfigurationList(decoding: Array(json.utf8))
                    }
                    let attachment = try cluster.attachment(namespaces[2], namespace: "shop", name: "db")
                    do {
                        _ = try await cluster.runtime(0).add(try conflist(user: "{}"), attachment)
                        Issue.record("ADD without credentials succeeded")
                    } catch let error as CNIError {
                        #expect(error.code == .invalidNetworkConfig, "\(error)")
                        #expect("\(error)".contains("401") && "\(error)".contains("no token and no client certificate"), "\(error)")
                    }
                    #expect(try await ClusterRegistry(store: cluster.store).pod(namespace: "shop", name: "db") == nil)

                    _ = try await cluster.runtime(0).add(try conflist(user: #"{"token": "canal-token"}"#), attachment)
                    let record = try #require(try await ClusterRegistry(store: cluster.store).pod(namespace: "shop", name: "db"))
                    #expect(record.labels == ["app": "db", "role": "primary"])
                    #expect(record.ports == [PortRecord(name: "pg", port: 5432, protocol: "TCP"), PortRecord(name: "metrics", port: 9187, protocol: "TCP")])
                    await fixture.shutdown()
                } catch {
                    await fixture.shutdown()
                    throw error
                }
            }
        }
    }
}
