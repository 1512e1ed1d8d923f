import CNISpec
import Datastore
import Foundation
import Kubernetes
import KubernetesTestServer
import Lab
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// swift-calico with Calico's `kubernetes.kubeconfig`: at ADD the plugin reads its pod from the
/// API server (the fixture, over TLS, inside the test's fabric namespace) and writes the pod's
/// labels and named ports into the pod record, so the policy agent selects the pod from its
/// first packet, without a label key written by anyone else.
@Suite(.serialized) struct CalicoPodLabelsKubeTests {
    static let policy = """
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: web}
        spec:
          selector: app == 'web'
          types: [Ingress]
          ingress: [{action: Allow, source: {selector: app == 'client'}}]
        """
    static let token = "cni-reader-token"

    static func pod(_ name: String, app: String, ports: [JSONValue] = []) -> Pod {
        var pod = Pod(name: name, namespace: "shop")
        pod.labels = ["app": app]
        var container: JSONObject = ["name": "main", "image": "busybox"]
        if !ports.isEmpty { container["ports"] = .array(ports) }
        pod.json["spec"] = ["containers": [.object(container)]]
        return pod
    }

    static func arguments(_ name: String) -> CNIArguments {
        CNIArguments([.init(key: "K8S_POD_NAMESPACE", value: "shop"), .init(key: "K8S_POD_NAME", value: name)])
    }

    @Test("ADD over TLS (token on one node, client certificate on the other): labels and named ports in the record, policy from the first connection; wrong CA and an unknown pod fail ADD",
          .privileged, .timeLimit(.minutes(2)))
    func labelsAtAdd() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-labels-")
        defer { TestDirectories.remove(directory) }
        try await withTimeout(.seconds(100), "the calico pod-label lab") {
            try await NamespaceFixture.with(count: 6) { namespaces in
                let cluster = try CalicoCluster(fabric: namespaces[0], nodes: Array(namespaces[1...2]), directory: directory)
                defer { cluster.stopAll() }
                try FileManager.default.createDirectory(atPath: directory + "/pki", withIntermediateDirectories: true)
                let pki = try EtcdCertificates.generate(in: directory + "/pki", serverAddresses: ["192.168.100.254"])
                let other = EtcdCertificates(directory: directory + "/other-pki")
                try FileManager.default.createDirectory(atPath: other.directory, withIntermediateDirectories: true)
                try other.makeAuthority(name: "ca", commonName: "swiftcni-stranger-ca")
                let descriptor = try await cluster.fabric.run {
                    try ListeningSocket.tcp(address: "192.168.100.254", port: 6443)
                }
                let kubeStore = try FileDatastore(directory: directory + "/kube-store", pollIntervalMilliseconds: 10, synchronousWrites: false)
                let fixture = try await APIServerFixture.start(
                    store: kubeStore, host: "192.168.100.254", boundSocket: descriptor,
                    tls: FixtureTLS(
                        certificatePath: pki.serverCertificateFile, privateKeyPath: pki.serverKeyFile,
                        clientCertificateAuthorityPath: pki.caFile),
                    tokens: [Self.token])
                do {
                    _ = try await fixture.create(.namespaces, object: Namespace(name: "shop").json)
                    let http: JSONValue = ["name": "http", "containerPort": 8080]
                    for pod in [Self.pod("web", app: "web", ports: [http]), Self.pod("client", app: "client"), Self.pod("other", app: "other")] {
                        _ = try await fixture.create(.pods, namespace: "shop", object: pod.json)
                    }
                    let byToken = directory + "/token-kubeconfig", byCertificate = directory + "/cert-kubeconfig"
                    let wrongCA = directory + "/wrong-ca-kubeconfig"
                    for (path, ca, user) in [
                        (byToken, pki.caFile, "{token: \(Self.token)}"),
                        (byCertificate, pki.caFile, "{client-certificate: \(pki.clientCertificateFile), client-key: \(pki.clientKeyFile)}"),
                        (wrongCA, other.directory + "/ca.pem", "{token: \(Self.token)}"),
                    ] {
                        try """
                            apiVersion: v1
                            kind: Config
                            clusters:
                            - name: lab
                              cluster:
                                server: \(fixture.url)
                                certificate-authority: \(ca)
                            users:
                            - name: calico-cni
                              user: \(user)
                            contexts:
                            - name: lab
                              context: {cluster: lab, user: calico-cni}
                            current-context: lab
                            """.write(toFile: path, atomically: true, encoding: .utf8)
                    }
                    let store = try FileDatastore(directory: cluster.harnesses[0].storeDirectory, pollIntervalMilliseconds: 20)
                    try await store.put("/swiftcni/policies/calico/global/web", string: Self.policy)
                    for index in 0..<2 { try cluster.startAgent(index) }

                    func add(_ name: String, node: Int, kubeconfig: String, pod: NetworkNamespace) async throws -> String {
                        let harness = cluster.harnesses[node]
                        var configuration = harness.pluginConfiguration(blocks: true)
                        configuration["kubernetes"] = ["kubeconfig": .string(kubeconfig)]
                        let list = NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [configuration])
                        let attachment = RuntimeAttachment(
                            containerID: "c-\(name)", networkNamespace: pod.path, interfaceName: "eth0", arguments: Self.arguments(name))
                        let result = try await harness.runtime.add(list, attachment).current()
                        return "\(try #require(result.ips.first?.address.address))"
                    }
                    let webAddress = try await add("web", node: 0, kubeconfig: byToken, pod: namespaces[3])
                    _ = try await add("client", node: 1, kubeconfig: byCertificate, pod: namespaces[4])

                    let registry = ClusterRegistry(store: store)
                    let web = try #require(try await registry.pod(namespace: "shop", name: "web"))
                    #expect(web.labels == ["app": "web"])
                    #expect(web.ports == [PortRecord(name: "http", port: 8080, protocol: "TCP")])
                    #expect(try await registry.pod(namespace: "shop", name: "client")?.labels == ["app": "client"])

                    // Wrong CA: ADD fails with the configuration's error, naming the CA file, and leaves nothing behind.
                    do {
                        _ = try await add("other", node: 1, kubeconfig: wrongCA, pod: namespaces[5])
                        Issue.record("ADD with a kubeconfig whose CA does not sign the server succeeded")
                    } catch let error as CNIError {
                        #expect(error.code == .invalidNetworkConfig, "\(error)")
                        #expect("\(error)".contains("not trusted by the CA file \(other.directory)/ca.pem"), "\(error)")
                    }
                    #expect(try await registry.pod(namespace: "shop", name: "other") == nil)
                    // A pod the API does not know: ADD fails (as Calico's plugin does), naming it.
                    do {
                        var attachment = RuntimeAttachment(
                            containerID: "c-ghost", networkNamespace: namespaces[5].path, interfaceName: "eth0", arguments: Self.arguments("ghost"))
                        attachment.arguments = Self.arguments("ghost")
                        var configuration = cluster.harnesses[1].pluginConfiguration(blocks: true)
                        configuration["kubernetes"] = ["kubeconfig": .string(byToken)]
                        _ = try await cluster.harnesses[1].runtime.add(
                            NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [configuration]), attachment)
                        Issue.record("ADD of a pod the API does not know succeeded")
                    } catch let error as CNIError {
                        #expect("\(error)".contains("shop/ghost") && "\(error)".contains("404"), "\(error)")
                    }
                    _ = try await add("other", node: 1, kubeconfig: byToken, pod: namespaces[5])

                    for index in 0..<2 {
                        let learned = try await eventually(within: 20) { try cluster.bgpRoutes(index).count == 1 }
                        #expect(learned, "node \(index + 1): \(cluster.agentLog(index))")
                    }
                    // The client (selected as a source by its labels from the API) reaches web; once
                    // it does, the agents have the pods: other's very first attempt is denied.
                    #expect(try await eventually(within: 15) { try namespaces[4].ping(webAddress) }, "client -> web")
                    #expect(try !namespaces[5].ping(webAddress), "other -> web on its first attempt")
                    cluster.stopAll()
                    await store.close()
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
