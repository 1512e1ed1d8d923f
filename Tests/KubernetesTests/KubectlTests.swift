import ChildProcess
import Foundation
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

/// The fixture's fidelity, checked with the machine's kubectl (a scripted session over HTTPS
/// with a token, from a kubeconfig in the test's directory).
@Suite("kubectl against the fixture", .serialized)
struct KubectlTests {
    static let kubectl = "/usr/bin/kubectl"

    struct Session {
        let cluster: TestCluster
        let kubeconfig: String

        /// Runs kubectl; returns stdout, or throws with both outputs when it fails.
        @discardableResult
        func run(_ arguments: [String], expectFailure: Bool = false) async throws -> String {
            let output = try await Processes.run(
                KubectlTests.kubectl, ["--kubeconfig", kubeconfig, "--cache-dir", cluster.directory + "/kubectl-cache"] + arguments,
                environment: ["HOME": cluster.directory, "PATH": "/usr/bin:/bin"], timeoutMilliseconds: 30_000)
            if output.status.isSuccess == expectFailure {
                throw ProcessFailure(command: "kubectl \(arguments.joined(separator: " "))", output: output)
            }
            return expectFailure ? output.standardErrorText : output.standardOutputText
        }

        func write(_ name: String, _ text: String) throws -> String {
            let path = cluster.directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    @Test func scriptedSession() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.kubectl), "kubectl is expected at \(Self.kubectl)")
        try await withTimeout(.seconds(240), "the kubectl session") {
            try await TestCluster.with(tls: true, bookmarkInterval: .milliseconds(200)) { cluster in
                let session = Session(cluster: cluster, kubeconfig: try cluster.writeKubeconfig())
                let version = try await session.run(["version", "-o", "json"])
                #expect(version.contains("v1.32.0-swiftcni-fixture"))
                let resources = try await session.run(["api-resources", "--no-headers"])
                for name in ["pods", "nodes", "namespaces", "networkpolicies"] { #expect(resources.contains(name)) }

                // kubectl's typed generators (`kubectl create namespace X`) send protobuf, which the
                // fixture does not speak (415); objects from files go as JSON.
                let namespace = try session.write("namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n")
                #expect(try await session.run(["create", "--validate=false", "-f", namespace]).contains("namespace/demo created"))
                let node = try session.write("node.yaml", """
                    apiVersion: v1
                    kind: Node
                    metadata: {name: node-1, labels: {kubernetes.io/hostname: node-1}}
                    spec: {podCIDR: 10.244.1.0/24, podCIDRs: [10.244.1.0/24]}
                    """)
                let pod = try session.write("pod.yaml", """
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: web, namespace: demo, labels: {app: web}}
                    spec:
                      nodeName: node-1
                      containers: [{name: c, image: busybox, ports: [{name: http, containerPort: 80}]}]
                    """)
                let policy = try session.write("policy.yaml", """
                    apiVersion: networking.k8s.io/v1
                    kind: NetworkPolicy
                    metadata: {name: deny-all, namespace: demo}
                    spec: {podSelector: {}, policyTypes: [Ingress]}
                    """)
                #expect(try await session.run(["create", "--validate=false", "-f", node]).contains("node/node-1 created"))
                #expect(try await session.run(["create", "--validate=false", "-f", pod]).contains("pod/web created"))
                #expect(try await session.run(["create", "--validate=false", "-f", policy]).contains("networkpolicy.networking.k8s.io/deny-all created"))
                #expect(try await session.run(["get", "pods", "-n", "demo", "-o", "name"]) == "pod/web\n")
                #expect(try await session.run(["get", "netpol", "-n", "demo", "-o", "name"]).contains("deny-all"))
                #expect(try await session.run(["get", "no", "node-1", "-o", "jsonpath={.spec.podCIDR}"]) == "10.244.1.0/24")
                #expect(try await session.run(["get", "pods", "-A"]).contains("web"))

                // label, annotate, status patch
                #expect(try await session.run(["label", "pod", "web", "-n", "demo", "tier=front"]).contains("pod/web labeled"))
                #expect(try await session.run(["get", "pods", "-n", "demo", "-l", "tier=front,app=web", "-o", "name"]) == "pod/web\n")
                #expect(try await session.run(["annotate", "node", "node-1", "flannel.alpha.coreos.com/public-ip=10.0.0.1"]).contains("annotated"))
                let patched = try await session.run([
                    "patch", "node", "node-1", "--subresource=status", "--type=strategic",
                    "-p", #"{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","reason":"FlannelIsUp"}]}}"#,
                ])
                #expect(patched.contains("node/node-1 patched"))
                #expect(try await session.run([
                    "get", "node", "node-1", "-o", "jsonpath={.status.conditions[?(@.type==\"NetworkUnavailable\")].status}",
                ]) == "False")
                #expect(try await session.run(["get", "node", "node-1", "-o", "jsonpath={.metadata.annotations.flannel\\.alpha\\.coreos\\.com/public-ip}"]) == "10.0.0.1")

                // 422 on changing a node's podCIDR
                let invalid = try await session.run(
                    ["patch", "node", "node-1", "-p", #"{"spec":{"podCIDR":"10.244.9.0/24","podCIDRs":["10.244.9.0/24"]}}"#], expectFailure: true)
                #expect(invalid.contains("is invalid") && invalid.contains("spec.podCIDRs"), "\(invalid)")

                // a watch sees a change; a raw watch with bookmarks gets BOOKMARK events
                // (kubectl's own `get -o jsonpath` wraps items in a List without a version: ask raw)
                let rawList = try await session.run(["get", "--raw", "/api/v1/namespaces/demo/pods"])
                let listVersion = try #require(try JSONValue.decode(Array(rawList.utf8))["metadata"]?["resourceVersion"]?.stringValue)
                async let watched = session.run(["get", "pods", "-n", "demo", "-w", "--request-timeout=3s", "-o", "name"])
                try await Task.sleep(for: .milliseconds(1500))
                try await session.run(["label", "pod", "web", "-n", "demo", "step=two"])
                let watchOutput = try await watched
                // the listed pod, then the same pod again from the watch event of the label change
                #expect(watchOutput.split(separator: "\n") == ["pod/web", "pod/web"], "\(watchOutput)")
                let raw = try await session.run([
                    "get", "--raw", "/api/v1/namespaces/demo/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=\(listVersion)",
                ])
                #expect(raw.contains(#""type":"BOOKMARK""#), "\(raw)")
                #expect(raw.contains(#""type":"MODIFIED""#), "\(raw)")

                // 410 after compaction
                try await waitUntil("the watch cache has the last change") {
                    await cluster.fixture.cachedRevision() >= (try await cluster.store.list(prefix: "/none").revision)
                }
                await cluster.fixture.compact()
                let expired = try await session.run([
                    "get", "--raw", "/api/v1/namespaces/demo/pods?watch=true&timeoutSeconds=5&resourceVersion=\(listVersion)",
                ])
                #expect(expired.contains(#""code":410"#) && expired.contains("Expired"), "\(expired)")

                // paging with --chunk-size, then delete
                for index in 1...3 {
                    let page = try session.write("page.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: page-\(index)}\n")
                    try await session.run(["create", "--validate=false", "-f", page])
                }
                cluster.fixture.clearRequestLog()
                let names = try await session.run(["get", "namespaces", "--chunk-size=2", "-o", "name"])
                #expect(names.split(separator: "\n").count == 4 + APIServerFixture.systemNamespaces.count)
                #expect(cluster.fixture.requests().contains { $0.query["continue"] != nil && $0.query["limit"] == "2" })
                #expect(try await session.run(["delete", "pod", "web", "-n", "demo"]).contains("pod \"web\" deleted"))
                let missing = try await session.run(["get", "pod", "web", "-n", "demo"], expectFailure: true)
                #expect(missing.contains("NotFound") || missing.contains("not found"), "\(missing)")
            }
        }
    }
}
