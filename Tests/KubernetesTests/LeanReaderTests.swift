import Foundation
import HTTPTransport
import Kubernetes
import KubernetesCore
import KubernetesTestServer
import Testing
import TestSupport

/// KubernetesCore, the blocking reader a plugin links: its kubeconfig subset, and `get pod`
/// against the fixture over TLS with a token and with a client certificate.
@Suite("KubernetesCore: kubeconfig without a YAML library, get pod over the shared transport")
struct LeanReaderTests {
    /// Runs a blocking call on a thread of its own: never on the concurrency pool, which the
    /// in-process fixture needs to answer it.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    static func failure(_ body: @escaping @Sendable () throws -> Void) async -> KubernetesCoreError? {
        do { try await blocking(body) } catch let error as KubernetesCoreError { return error } catch { return nil }
        return nil
    }

    static func webPod() -> Pod {
        var pod = Pod(name: "web-0", namespace: "shop")
        pod.labels = ["app": "web", "tier": "front"]
        pod.json["spec"] = [
            "containers": [
                ["name": "web", "image": "nginx", "ports": [["name": "http", "containerPort": 8080], ["containerPort": 9000]]],
                ["name": "dns", "image": "coredns", "ports": [["name": "dns", "containerPort": 53, "protocol": "UDP"]]],
            ]
        ]
        return pod
    }

    static let expectedPorts = [PodInfo.NamedPort(name: "http", port: 8080), PodInfo.NamedPort(name: "dns", port: 53, protocol: "UDP")]

    @Test("kubeconfig: block and flow YAML as kubectl, kubeadm and Calico write it, and JSON")
    func kubeconfigSubset() throws {
        let block = """
            # written by hand
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                certificate-authority-data: TFMwdExTMUNSVWQ=
                server: https://10.96.0.1:443
              name: kubernetes
            users:
              - name: "calico-cni"
                user:
                  token: 'abc''def'   # quoted, with a quote
            contexts:
            - name: calico-context
              context:
                cluster: kubernetes
                user: calico-cni
            current-context: calico-context
            preferences: {}
            """
        let parsed = try KubeconfigFile(text: block)
        #expect(parsed.currentContext == "calico-context")
        #expect(parsed.clusters["kubernetes"]?.server == "https://10.96.0.1:443")
        #expect(parsed.clusters["kubernetes"]?.certificateAuthorityData == "TFMwdExTMUNSVWQ=")
        #expect(parsed.users["calico-cni"]?.token == "abc'def")
        let access = try parsed.access()
        #expect(access.endpoint == HTTPEndpointOf("10.96.0.1", 443, tls: true))
        #expect(access.token == "abc'def")

        let flow = """
            apiVersion: v1
            clusters: [{name: lab, cluster: {server: "http://192.168.100.254:6443", insecure-skip-tls-verify: true}}]
            users: [{name: agent, user: {}}]
            contexts: [{name: lab, context: {cluster: lab, user: agent, namespace: kube-system}}]
            current-context: lab
            """
        let lab = try KubeconfigFile(text: flow).access()
        #expect(lab.endpoint == HTTPEndpointOf("192.168.100.254", 6443, tls: false))
        #expect(lab.tls.skipsVerification && lab.namespace == "kube-system" && lab.token == nil)

        let json = #"""
            {"apiVersion": "v1", "clusters": [{"name": "c", "cluster": {"server": "https://[fd00::1]:6443"}}],
             "users": [{"name": "u", "user": {"token": "t\u0041"}}],
             "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}], "current-context": "x"}
            """#
        let fromJSON = try KubeconfigFile(text: json).access()
        #expect(fromJSON.endpoint == HTTPEndpointOf("fd00::1", 6443, tls: true))
        #expect(fromJSON.token == "tA")

        for (text, words) in [
            ("clusters:\n- name: a\n  cluster:\n    server: |\n      https://x\n", "block scalars"),
            ("base: &b {server: x}\nclusters: *b\n", "anchors"),
            ("clusters: [{name: a\n", "unterminated"),
            ("a: 1\na: 2\n", "duplicate key"),
        ] {
            #expect {
                _ = try KubeconfigFile(text: text)
            } throws: { error in
                let error = error as? KubernetesCoreError
                return error?.code == .invalidConfiguration && error?.message.contains(words) == true
            }
        }
        #expect(throws: KubernetesCoreError.self) { try KubeconfigFile(text: "current-context: nowhere\n").access() }
        #expect(throws: KubernetesCoreError.self) {
            try KubeconfigFile(text: "clusters: [{name: c, cluster: {server: \"https://x/prefix\"}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n").access()
        }
    }

    @Test("over TLS with a token: labels and named ports; wrong CA, missing token, missing pod and token file each say so")
    func tokenOverTLS() async throws {
        try await withTimeout(.seconds(60), "KubernetesCore over TLS with a token") {
            try await TestCluster.with(tls: true) { cluster in
                _ = try await cluster.client().create(Namespace(name: "shop"))
                _ = try await cluster.client().create(Self.webPod())
                let pki = cluster.certificates!
                try "\(TestCluster.token)\n".write(toFile: cluster.directory + "/token", atomically: true, encoding: .utf8)
                let kubeconfig = cluster.directory + "/cni-kubeconfig"
                try """
                    apiVersion: v1
                    kind: Config
                    clusters:
                    - name: fixture
                      cluster:
                        server: \(cluster.fixture.url)
                        certificate-authority: pki/ca.crt
                    - name: stranger
                      cluster:
                        server: \(cluster.fixture.url)
                        certificate-authority: \(pki.otherCACertificate)
                    users:
                    - name: by-token
                      user: {token: \(TestCluster.token)}
                    - name: by-file
                      user: {tokenFile: token}
                    - name: anonymous
                      user: {}
                    - name: lost-file
                      user: {tokenFile: no-such-token}
                    contexts:
                    - {name: token, context: {cluster: fixture, user: by-token}}
                    - {name: file, context: {cluster: fixture, user: by-file}}
                    - {name: anonymous, context: {cluster: fixture, user: anonymous}}
                    - {name: wrong-ca, context: {cluster: stranger, user: by-token}}
                    - {name: lost-file, context: {cluster: fixture, user: lost-file}}
                    current-context: token
                    """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)

                let pod = try await Self.blocking {
                    try KubernetesSettings(kubeconfig: kubeconfig).pod(namespace: "shop", name: "web-0")
                }
                #expect(pod == PodInfo(namespace: "shop", name: "web-0", labels: ["app": "web", "tier": "front"], namedPorts: Self.expectedPorts))
                let file = try KubeconfigFile(contentsOf: kubeconfig)
                let byFile = try await Self.blocking { try KubernetesReader(access: file.access(context: "file")).pod(namespace: "shop", name: "web-0") }
                #expect(byFile.labels["app"] == "web")

                let wrongCA = await Self.failure { _ = try KubernetesReader(access: file.access(context: "wrong-ca")).pod(namespace: "shop", name: "web-0") }
                #expect(wrongCA?.code == .tlsFailed, "\(String(describing: wrongCA))")
                #expect(wrongCA?.message.contains("not trusted by the CA file \(pki.otherCACertificate)") == true, "\(String(describing: wrongCA))")
                #expect(wrongCA?.endpoint == cluster.fixture.url)

                let anonymous = await Self.failure { _ = try KubernetesReader(access: file.access(context: "anonymous")).pod(namespace: "shop", name: "web-0") }
                #expect(anonymous?.code == .unauthorized && anonymous?.httpStatus == 401, "\(String(describing: anonymous))")
                #expect(anonymous?.message.contains("no token and no client certificate") == true, "\(String(describing: anonymous))")

                let lost = await Self.failure { _ = try file.access(context: "lost-file") }
                #expect(lost?.code == .credentialsUnavailable && lost?.message.contains("no-such-token") == true, "\(String(describing: lost))")

                let missing = await Self.failure { _ = try KubernetesReader(access: file.access()).pod(namespace: "shop", name: "web-9") }
                #expect(missing?.code == .notFound && missing?.httpStatus == 404, "\(String(describing: missing))")

                let path = cluster.fixture.requests().last { $0.path.contains("/pods/") }?.path
                #expect(path == "/api/v1/namespaces/shop/pods/web-9")
            }
        }
    }

    @Test("over TLS with a client certificate, from files and from -data, and no server at all")
    func clientCertificate() async throws {
        try await withTimeout(.seconds(60), "KubernetesCore with a client certificate") {
            try await TestCluster.with(tls: true) { cluster in
                _ = try await cluster.client().create(Namespace(name: "shop"))
                _ = try await cluster.client().create(Self.webPod())
                let pki = cluster.certificates!
                func data(_ path: String) throws -> String { try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString() }
                let kubeconfig = cluster.directory + "/cert-kubeconfig"
                try """
                    apiVersion: v1
                    clusters:
                    - name: fixture
                      cluster: {server: "\(cluster.fixture.url)", certificate-authority-data: \(try data(pki.caCertificate))}
                    users:
                    - name: files
                      user: {client-certificate: \(pki.clientCertificate), client-key: \(pki.clientKey)}
                    - name: inline
                      user:
                        client-certificate-data: \(try data(pki.clientCertificate))
                        client-key-data: \(try data(pki.clientKey))
                    contexts:
                    - {name: files, context: {cluster: fixture, user: files}}
                    - {name: inline, context: {cluster: fixture, user: inline}}
                    current-context: files
                    """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
                let file = try KubeconfigFile(contentsOf: kubeconfig)
                for context in ["files", "inline"] {
                    let pod = try await Self.blocking { try KubernetesReader(access: file.access(context: context)).pod(namespace: "shop", name: "web-0") }
                    #expect(pod.namedPorts == Self.expectedPorts, "\(context)")
                }
                // the token check is the fixture's: a certificate it verified stands for the user
                #expect(cluster.fixture.requests().filter { $0.path == "/api/v1/namespaces/shop/pods/web-0" }.allSatisfy { $0.status == 200 })
            }
            let access = APIServerAccess(endpoint: HTTPEndpointOf("127.0.0.1", 1, tls: false), token: "x")
            let refused = await Self.failure { _ = try KubernetesReader(access: access, timeoutMilliseconds: 2000).pod(namespace: "a", name: "b") }
            #expect(refused?.code == .unavailable && refused?.message.contains("refused") == true, "\(String(describing: refused))")
        }
    }
}

func HTTPEndpointOf(_ host: String, _ port: Int, tls: Bool) -> HTTPTransport.HTTPEndpoint {
    HTTPTransport.HTTPEndpoint(host: host, port: port, usesTLS: tls)
}
