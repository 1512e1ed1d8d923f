import ChildProcess
import Foundation
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

/// The fixture's fidelity, checked with the PyPI `kubernetes` client: Scripts/python_session.py
/// over HTTPS with a token. The client is installed with pip when missing (Makefile `deps`
/// installs it too); nothing is skipped.
@Suite("Python kubernetes client against the fixture", .serialized)
struct PythonClientTests {
    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/python_session.py").path
    }

    static func python() async throws -> String {
        let python = try #require(Processes.find("python3"), "python3 is needed for the Python client session")
        let probe = try await Processes.run(python, ["-c", "import kubernetes"])
        if !probe.status.isSuccess {
            let install = try await Processes.run(python, ["-m", "pip", "install", "--quiet", "kubernetes"], timeoutMilliseconds: 300_000)
            guard install.status.isSuccess else { throw ProcessFailure(command: "pip install kubernetes", output: install) }
        }
        return python
    }

    @Test func scriptedSession() async throws {
        let python = try await Self.python()
        try await withTimeout(.seconds(180), "the Python session") {
            try await TestCluster.with(tls: true, bookmarkInterval: .milliseconds(200)) { cluster in
                let kubeconfig = try cluster.writeKubeconfig()
                // a version that is compacted before the session starts
                _ = try await cluster.fixture.create(.namespaces, object: Namespace(name: "before").json)
                let old = try await cluster.store.list(prefix: "/none").revision
                _ = try await cluster.fixture.create(.namespaces, object: Namespace(name: "after").json)
                try await waitUntil("the cache has the namespaces") { await cluster.fixture.cachedRevision() > old }
                await cluster.fixture.compact()
                var environment = ProcessInfo.processInfo.environment
                environment["HOME"] = cluster.directory
                environment["KUBECONFIG"] = kubeconfig
                let output = try await Processes.run(python, [Self.script, kubeconfig, String(old)], environment: environment, timeoutMilliseconds: 120_000)
                #expect(output.status.isSuccess && output.standardOutputText.contains("SESSION OK"),
                        "\(output.standardOutputText)\n\(output.standardErrorText)")
            }
        }
    }
}
