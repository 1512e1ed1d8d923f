import Foundation
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

@Suite("TLS, credentials and configuration")
struct TLSAuthTests {
    static func failure(_ body: () async throws -> Void) async -> KubernetesError? {
        do { try await body() } catch let error as KubernetesError { return error } catch { return nil }
        return nil
    }

    @Test func trustedCAAndTokenWork() async throws {
        try await withTimeout(.seconds(60), "HTTPS with a token") {
            try await TestCluster.with(tls: true) { cluster in
                let client = try cluster.client()
                _ = try await client.create(Node(name: "n1"))
                #expect(try await client.list(Node.self).items.map(\.name) == ["n1"])
            }
        }
    }

    @Test func wrongCAFailsNamingTheServer() async throws {
        try await withTimeout(.seconds(60), "HTTPS with the wrong CA") {
            try await TestCluster.with(tls: true) { cluster in
                let other = try Array(Data(contentsOf: URL(fileURLWithPath: cluster.certificates!.otherCACertificate)))
                let error = await Self.failure { _ = try await cluster.client(caPEM: other).list(Node.self) }
                #expect(error?.code == .tlsFailed)
                #expect(error?.server == cluster.fixture.url)
                #expect(error?.message.contains(cluster.fixture.url) == true)
                #expect(error?.message.contains("certificate") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func missingTokenIsUnauthorized() async throws {
        try await withTimeout(.seconds(60), "no token") {
            try await TestCluster.with(tls: true) { cluster in
                let error = await Self.failure { _ = try await cluster.client(token: nil).list(Node.self) }
                #expect(error?.code == .unauthorized)
                #expect(error?.httpStatus == 401)
                #expect(error?.message == "Unauthorized")
                #expect(error?.server == cluster.fixture.url)
                let missingFile = await Self.failure {
                    _ = try await cluster.client(token: .file(cluster.directory + "/no-such-token")).list(Node.self)
                }
                #expect(missingFile?.code == .credentialsUnavailable)
                #expect(missingFile?.message.contains("no-such-token") == true)
            }
        }
    }

    @Test func rotatedTokenFileIsReadAgain() async throws {
        try await withTimeout(.seconds(60), "token rotation") {
            try await TestCluster.with(tls: true, tokens: ["first"]) { cluster in
                let path = cluster.directory + "/token"
                try "first\n".write(toFile: path, atomically: true, encoding: .utf8)
                let client = try cluster.client(token: .file(path))
                #expect(try await client.list(Node.self).items.isEmpty)
                // the kubelet writes the new token by rename; the server accepts only the new one
                cluster.fixture.setAcceptedTokens(["second-token"])
                try "second-token\n".write(toFile: path, atomically: true, encoding: .utf8)
                #expect(try await client.list(Node.self).items.isEmpty)
                // the server rotates first: the 401 makes the client read the file again
                cluster.fixture.setAcceptedTokens(["third-token-x"])
                let stale = await Self.failure { _ = try await client.list(Node.self) }
                #expect(stale?.code == .unauthorized)
                try "third-token-x\n".write(toFile: path, atomically: true, encoding: .utf8)
                #expect(try await client.list(Node.self).items.isEmpty)
            }
        }
    }

    @Test func clientCertificateAuthenticates() async throws {
        try await withTimeout(.seconds(60), "client certificates") {
            try await TestCluster.with(tls: true) { cluster in
                let pki = cluster.certificates!
                var configuration = try ClientConfiguration(server: cluster.fixture.url)
                configuration.certificateAuthorityPEM = try Array(Data(contentsOf: URL(fileURLWithPath: pki.caCertificate)))
                configuration.clientCertificate = ClientCertificate(
                    certificatePEM: try Array(Data(contentsOf: URL(fileURLWithPath: pki.clientCertificate))),
                    privateKeyPEM: try Array(Data(contentsOf: URL(fileURLWithPath: pki.clientKey))))
                #expect(try await KubernetesClient(configuration: configuration).list(Node.self).items.isEmpty)
            }
        }
    }

    @Test func kubeconfigAndInClusterConfiguration() async throws {
        try await withTimeout(.seconds(60), "kubeconfig") {
            try await TestCluster.with(tls: true) { cluster in
                let pki = cluster.certificates!
                let caData = try Data(contentsOf: URL(fileURLWithPath: pki.caCertificate)).base64EncodedString()
                try "\(TestCluster.token)\n".write(toFile: cluster.directory + "/token", atomically: true, encoding: .utf8)
                let yaml = """
                    apiVersion: v1
                    kind: Config
                    current-context: with-file-token
                    clusters:
                    - name: fixture
                      cluster: {server: "\(cluster.fixture.url)", certificate-authority-data: \(caData)}
                    - name: by-path
                      cluster: {server: "\(cluster.fixture.url)", certificate-authority: pki/ca.crt}
                    users:
                    - name: file-user
                      user: {tokenFile: token}
                    - name: cert-user
                      user: {client-certificate: pki/client.crt, client-key: pki/client.key}
                    contexts:
                    - name: with-file-token
                      context: {cluster: fixture, user: file-user, namespace: kube-system}
                    - name: with-certificate
                      context: {cluster: by-path, user: cert-user}
                    - name: broken
                      context: {cluster: nowhere, user: file-user}
                    """
                try yaml.write(toFile: cluster.directory + "/config", atomically: true, encoding: .utf8)
                let kubeconfig = try Kubeconfig(contentsOf: cluster.directory + "/config")
                let current = try kubeconfig.configuration()
                #expect(current.namespace == "kube-system")
                #expect(current.token?.path == cluster.directory + "/token")
                #expect(try await KubernetesClient(configuration: current).list(Node.self).items.isEmpty)
                let byCertificate = try kubeconfig.configuration(context: "with-certificate")
                #expect(byCertificate.clientCertificate != nil)
                #expect(try await KubernetesClient(configuration: byCertificate).list(Node.self).items.isEmpty)
                #expect(throws: KubernetesError.self) { try kubeconfig.configuration(context: "broken") }
                #expect(throws: KubernetesError.self) { try kubeconfig.configuration(context: "absent") }

                // a pod's service account directory
                let account = cluster.directory + "/serviceaccount"
                try FileManager.default.createDirectory(atPath: account, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: pki.caCertificate, toPath: account + "/ca.crt")
                try "\(TestCluster.token)\n".write(toFile: account + "/token", atomically: true, encoding: .utf8)
                try "flannel".write(toFile: account + "/namespace", atomically: true, encoding: .utf8)
                let inCluster = try ClientConfiguration.inCluster(
                    environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": String(cluster.fixture.port)],
                    serviceAccountDirectory: account)
                #expect(inCluster.namespace == "flannel")
                #expect(try await KubernetesClient(configuration: inCluster).list(Node.self).items.isEmpty)
                #expect(throws: KubernetesError.self) { try ClientConfiguration.inCluster(environment: [:], serviceAccountDirectory: account) }
            }
        }
    }

    @Test func refusedConnectionIsNamed() async throws {
        try await withTimeout(.seconds(30), "a refused connection") {
            // a port that was just free: bind nothing there
            let client = try KubernetesClient(configuration: ClientConfiguration(server: "http://127.0.0.1:1"))
            let error = await Self.failure { _ = try await client.list(Node.self) }
            #expect(error?.code == .connectionRefused)
            #expect(error?.message.contains("127.0.0.1:1") == true)
        }
    }
}
