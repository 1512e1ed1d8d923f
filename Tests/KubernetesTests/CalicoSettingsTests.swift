import Foundation
import Kubernetes
import KubernetesCore
import Testing
import TestSupport

/// Calico's `kubernetes` and `policy` sections of a network configuration (KubernetesSettings):
/// `kubernetes.k8s_api_root`, `policy.type` and the credentials Calico takes beside them.
@Suite("KubernetesCore: Calico's kubernetes.k8s_api_root and policy sections")
struct CalicoSettingsTests {
    static func decode(_ text: String) throws -> KubernetesSettings? {
        try KubernetesSettings.decode(networkConfiguration: Array(text.utf8))
    }

    @Test("k8s_api_root without a kubeconfig, with policy credentials; policy.type decides the pod read")
    func parsing() throws {
        let rooted = try #require(try Self.decode("""
            {"type": "swift-calico", "kubernetes": {"k8s_api_root": "https://10.96.0.1:443/"},
             "policy": {"type": "k8s", "k8s_auth_token": "tok", "k8s_certificate_authority": "/etc/ca.pem"}}
            """))
        #expect(rooted.readsPod && rooted.kubeconfig == nil && rooted.apiRoot == "https://10.96.0.1:443/")
        let access = try rooted.access()
        #expect(access.endpoint.host == "10.96.0.1" && access.endpoint.port == 443 && access.endpoint.usesTLS)
        #expect(access.token == "tok")
        #expect(access.tls.certificateAuthority == .file("/etc/ca.pem"))

        // Calico's older form: the root in the policy section, with the /api/v1 path it cuts.
        let old = try #require(try Self.decode("""
            {"policy": {"type": "k8s", "k8s_api_root": "http://127.0.0.1:8080/api/v1/",
                        "k8s_client_certificate": "/c.pem", "k8s_client_key": "/k.pem"}}
            """))
        let oldAccess = try old.access()
        #expect(oldAccess.endpoint.host == "127.0.0.1" && oldAccess.endpoint.port == 8080 && !oldAccess.endpoint.usesTLS)
        #expect(oldAccess.tls.certificate == .file("/c.pem") && oldAccess.tls.key == .file("/k.pem"))

        // policy.type other than k8s: no read, even with a kubeconfig (as Calico).
        #expect(try Self.decode(#"{"kubernetes": {"kubeconfig": "/k"}, "policy": {"type": "none"}}"#) == nil)
        // No policy section: a kubeconfig alone still reads (swift-calico's behaviour so far).
        #expect(try Self.decode(#"{"kubernetes": {"kubeconfig": "/k"}}"#)?.readsPod == true)
        #expect(try Self.decode(#"{"kubernetes": {}}"#) == nil)
        #expect(try Self.decode(#"{"type": "swift-calico"}"#) == nil)

        // policy.type k8s needs a server; a key without a certificate is refused.
        #expect(throws: KubernetesCoreError.self) { try Self.decode(#"{"policy": {"type": "k8s"}}"#) }
        let half = try #require(try Self.decode(#"{"kubernetes": {"k8s_api_root": "https://h:6443"}, "policy": {"type": "k8s", "k8s_client_key": "/k"}}"#))
        #expect(throws: KubernetesCoreError.self) { try half.access() }
        let bad = try #require(try Self.decode(#"{"kubernetes": {"k8s_api_root": "h:6443"}, "policy": {"type": "k8s"}}"#))
        #expect(throws: KubernetesCoreError.self) { try bad.access() }
        #expect(throws: KubernetesCoreError.self) { try Self.decode(#"{"policy": "k8s"}"#) }
    }

    @Test("kubernetes.k8s_api_root replaces the kubeconfig's server; policy.k8s_auth_token its token")
    func overridesKubeconfig() throws {
        let directory = NSTemporaryDirectory() + "swiftcni-calico-settings-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let kubeconfig = directory + "/kubeconfig"
        try """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "https://192.0.2.9:6443"}}]
            users: [{name: u, user: {token: from-file}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let plain = try #require(try Self.decode(#"{"kubernetes": {"kubeconfig": "\#(kubeconfig)"}}"#)).access()
        #expect(plain.endpoint.host == "192.0.2.9" && plain.token == "from-file")
        let settings = try #require(try Self.decode("""
            {"kubernetes": {"kubeconfig": "\(kubeconfig)", "k8s_api_root": "http://127.0.0.1:8080"},
             "policy": {"type": "k8s", "k8s_api_root": "https://192.0.2.7:6443", "k8s_auth_token": "from-policy"}}
            """))
        let access = try settings.access()
        #expect(access.endpoint.host == "127.0.0.1" && access.endpoint.port == 8080 && !access.endpoint.usesTLS)
        #expect(access.token == "from-policy")
        #expect(settings.sourceDescription.contains("k8s_api_root http://127.0.0.1:8080"))
    }

    @Test("a pod read through k8s_api_root with the policy section's token and CA, against the fixture over TLS")
    func readsThroughAPIRoot() async throws {
        try await withTimeout(.seconds(60), "pod read through k8s_api_root") {
            try await TestCluster.with(tls: true) { cluster in
                _ = try await cluster.client().create(Namespace(name: "shop"))
                _ = try await cluster.client().create(LeanReaderTests.webPod())
                let ca = cluster.certificates!.caCertificate
                let text = """
                    {"type": "swift-calico", "kubernetes": {"k8s_api_root": "\(cluster.fixture.url)"},
                     "policy": {"type": "k8s", "k8s_auth_token": "\(TestCluster.token)", "k8s_certificate_authority": "\(ca)"}}
                    """
                let settings = try #require(try Self.decode(text))
                let pod = try await LeanReaderTests.blocking { try settings.pod(namespace: "shop", name: "web-0") }
                #expect(pod.labels == ["app": "web", "tier": "front"])
                #expect(pod.namedPorts == LeanReaderTests.expectedPorts)
                let wrongToken = try #require(try Self.decode(text.replacingOccurrences(of: TestCluster.token, with: "nope")))
                let refused = await LeanReaderTests.failure { _ = try wrongToken.pod(namespace: "shop", name: "web-0") }
                #expect(refused?.httpStatus == 401, "\(String(describing: refused))")
            }
        }
    }
}
