#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Datastore
import Foundation
import KubeSync
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

/// The swift-kube-sync executable: its flags, its status file, a clean stop on SIGTERM.
@Suite("swift-kube-sync executable")
struct ExecutableTests {
    static var executable: String { TestDirectories.products + "/swift-kube-sync" }

    @Test func mirrorsWritesItsStatusAndStopsOnSIGTERM() async throws {
        try await withTimeout(.seconds(60), "swift-kube-sync against the fixture") {
            let directory = try TestDirectories.temporary(prefix: "swiftcni-kubesync-")
            defer { TestDirectories.remove(directory) }
            let store = try FileDatastore(directory: directory + "/store", pollIntervalMilliseconds: 10, synchronousWrites: false)
            let fixture = try await APIServerFixture.start(store: store, bookmarkInterval: .milliseconds(200))
            defer { Task { await fixture.shutdown() } }
            let kubeconfig = directory + "/kubeconfig"
            try """
                apiVersion: v1
                kind: Config
                clusters: [{name: c, cluster: {server: "\(fixture.url)"}}]
                users: [{name: u, user: {}}]
                contexts: [{name: c, context: {cluster: c, user: u}}]
                current-context: c
                """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let client = try KubernetesClient(configuration: ClientConfiguration(server: fixture.url))
            var policy = Kubernetes.NetworkPolicy(name: "deny", namespace: "default")
            policy.spec = ["podSelector": [:], "policyTypes": ["Ingress"]]
            _ = try await client.create(policy)
            let status = directory + "/status.json"
            let process = try ChildProcess.launch(
                Self.executable,
                arguments: [
                    "--kubeconfig", kubeconfig, "--store", "file:" + directory + "/store", "--status-file", status,
                    "--marker-interval-milliseconds", "100",
                ],
                standardOutput: .file(directory + "/log"), standardError: .file(directory + "/log"))
            defer { _ = process.terminate(graceMilliseconds: 1_000) }
            while try await store.get(KeyLayout.kubernetesPolicy(namespace: "default", name: "deny")) == nil {
                try await Task.sleep(for: .milliseconds(50))
            }
            while KubeSyncStatus.read(fromFile: status)?.synced != true { try await Task.sleep(for: .milliseconds(50)) }
            #expect(KubeSyncStatus.read(fromFile: status)?.apiVersions["networkpolicies"] == "networking.k8s.io/v1")
            #expect(process.signal(SIGTERM))
            var stoppedCleanly: Bool?
            for _ in 0..<100 {
                if let status = process.poll() {
                    stoppedCleanly = status.isSuccess
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(stoppedCleanly == true, "swift-kube-sync did not exit with status 0 within 5 s of SIGTERM")
        }
    }

    @Test func refusesBadFlags() throws {
        for arguments in [
            ["--store", "nowhere"], ["--store", "file:/tmp/x", "--allocate-node-cidrs"],
            ["--store", "file:/tmp/x", "--allocate-node-cidrs", "--cluster-cidr", "10.244.0.1/16"],
            ["--store", "file:/tmp/x", "--cluster-cidr", "10.244.0.0/16"],
        ] {
            let output = try ChildProcess.run(Self.executable, arguments: arguments, timeoutMilliseconds: 10_000)
            #expect(!output.status.isSuccess, "\(arguments)")
        }
    }
}
