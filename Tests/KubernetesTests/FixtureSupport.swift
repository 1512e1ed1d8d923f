import ChildProcess
import Datastore
import Foundation
import Kubernetes
import KubernetesTestServer
import TestSupport

/// A fixture API server on a fresh file store in a temporary directory, removed afterwards.
struct TestCluster {
    let directory: String
    let store: FileDatastore
    let fixture: APIServerFixture
    let certificates: TestCertificates?
    static let token = "swiftcni-test-token"

    /// Runs `body` against a new fixture (HTTPS with generated certificates and a token when
    /// `tls`), and shuts everything down and removes the directory afterwards, also on failure.
    static func with<T: Sendable>(
        tls: Bool = false, tokens: Set<String>? = nil, bookmarkInterval: Duration? = nil, kubelet: Bool = true,
        _ body: @Sendable (TestCluster) async throws -> T
    ) async throws -> T {
        let directory = try TestDirectories.temporary(prefix: "swiftcni-kube-")
        defer { TestDirectories.remove(directory) }
        let store = try FileDatastore(directory: directory + "/store", pollIntervalMilliseconds: 10, synchronousWrites: false)
        let certificates = tls ? try await TestCertificates.generate(in: directory + "/pki") : nil
        let fixture = try await APIServerFixture.start(
            store: store, tls: certificates.map { FixtureTLS(certificatePath: $0.serverCertificate, privateKeyPath: $0.serverKey, clientCertificateAuthorityPath: $0.caCertificate) },
            tokens: tokens ?? (tls ? [token] : nil), bookmarkInterval: bookmarkInterval, kubelet: kubelet)
        let cluster = TestCluster(directory: directory, store: store, fixture: fixture, certificates: certificates)
        do {
            let result = try await body(cluster)
            await fixture.shutdown()
            return result
        } catch {
            await fixture.shutdown()
            throw error
        }
    }

    /// A client of the fixture: over TLS it trusts the generated CA and sends the test token.
    func client(token: BearerToken? = .literal(TestCluster.token), caPEM: [UInt8]? = nil) throws -> KubernetesClient {
        var configuration = try ClientConfiguration(server: fixture.url, requestTimeout: .seconds(10))
        if let certificates {
            configuration.certificateAuthorityPEM = try caPEM ?? Array(Data(contentsOf: URL(fileURLWithPath: certificates.caCertificate)))
            configuration.token = token
        }
        return try KubernetesClient(configuration: configuration)
    }

    /// A kubeconfig for kubectl and the Python client: the fixture's URL, the CA file, the token.
    func writeKubeconfig() throws -> String {
        let path = directory + "/kubeconfig"
        var cluster = "    server: \(fixture.url)\n"
        var user = "  user: {}\n"
        if let certificates {
            cluster += "    certificate-authority: \(certificates.caCertificate)\n"
            user = "  user:\n    token: \(TestCluster.token)\n"
        }
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: fixture
              cluster:
            \(cluster)users:
            - name: tester
            \(user)contexts:
            - name: fixture
              context:
                cluster: fixture
                user: tester
                namespace: default
            current-context: fixture

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate signed by it, plus an
/// unrelated CA; made with openssl (ECDSA P-256, valid one day).
struct TestCertificates: Sendable {
    var caCertificate: String
    var caKey: String
    var serverCertificate: String
    var serverKey: String
    var clientCertificate: String
    var clientKey: String
    var otherCACertificate: String

    static func generate(in directory: String) async throws -> TestCertificates {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let d = directory
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await openssl(["req", "-x509"] + curve + ["-keyout", "\(d)/ca.key", "-out", "\(d)/ca.crt", "-days", "1", "-subj", "/CN=swiftcni-test-ca"])
        try await openssl(["req", "-x509"] + curve + ["-keyout", "\(d)/other-ca.key", "-out", "\(d)/other-ca.crt", "-days", "1", "-subj", "/CN=swiftcni-other-ca"])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n".write(toFile: "\(d)/server.ext", atomically: true, encoding: .utf8)
        try "extendedKeyUsage=clientAuth\n".write(toFile: "\(d)/client.ext", atomically: true, encoding: .utf8)
        for (name, subject) in [("server", "/CN=127.0.0.1"), ("client", "/O=system:masters/CN=swiftcni-admin")] {
            try await openssl(["req"] + curve + ["-keyout", "\(d)/\(name).key", "-out", "\(d)/\(name).csr", "-subj", subject])
            try await openssl([
                "x509", "-req", "-in", "\(d)/\(name).csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key", "-CAcreateserial",
                "-out", "\(d)/\(name).crt", "-days", "1", "-extfile", "\(d)/\(name).ext",
            ])
        }
        return TestCertificates(
            caCertificate: "\(d)/ca.crt", caKey: "\(d)/ca.key", serverCertificate: "\(d)/server.crt", serverKey: "\(d)/server.key",
            clientCertificate: "\(d)/client.crt", clientKey: "\(d)/client.key", otherCACertificate: "\(d)/other-ca.crt")
    }

    private static func openssl(_ arguments: [String]) async throws {
        let output = try await Processes.run("/usr/bin/openssl", arguments)
        guard output.status.isSuccess else {
            throw ProcessFailure(command: "openssl \(arguments.joined(separator: " "))", output: output)
        }
    }
}

struct ProcessFailure: Error, CustomStringConvertible {
    var command: String
    var output: ChildProcess.Output
    var description: String {
        "\(command) failed (\(output.status)):\n\(output.standardOutputText)\n\(output.standardErrorText)"
    }
}

enum Processes {
    /// Runs a process to completion on a thread of its own (never on the cooperative pool,
    /// which the fixture needs to answer the process).
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeoutMilliseconds: Int = 60_000
    ) async throws -> ChildProcess.Output {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    continuation.resume(returning: try ChildProcess.run(
                        executable, arguments: arguments, environment: environment, timeoutMilliseconds: timeoutMilliseconds))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    static func find(_ name: String) -> String? {
        ChildProcess.find(name, in: (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init))
    }
}

/// Polls `condition` every 20 ms until it holds, for at most `limit`.
func waitUntil(_ what: String, within limit: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestTimeoutError(what: what, limit: limit)
}
