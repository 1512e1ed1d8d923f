import Datastore
import Foundation
import Namespaces
import PolicyAgent
import TestSupport
import Testing

/// Two nodes on a fabric bridge running swift-canald (swift-flanneld's VXLAN overlay + the
/// policy agent), three pods added with the swift-canal plugin through CNIRuntime: pods reach
/// each other across nodes over VXLAN, and a NetworkPolicy written to the store denies, then
/// (after a label change) allows.
@Suite("swift-canal cluster", .serialized)
struct CanalClusterTests {
    static let webPolicy = """
        {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web","namespace":"x"},
         "spec":{"podSelector":{"matchLabels":{"app":"web"}},
                 "ingress":[{"from":[{"namespaceSelector":{},"podSelector":{"matchLabels":{"app":"client"}}}]}]}}
        """

    static func expectPing(
        _ cluster: CanalCluster, _ from: NetworkNamespace, _ address: String, _ expected: Bool, _ what: Comment
    ) async throws {
        let reached = try await eventually(within: 8) { try from.ping(address) == expected }
        #expect(reached, what)
    }

    /// The child processes of `pid` (every thread's `children` list).
    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "")
                .split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    @Test(.privileged) func crossNodeTrafficAndPolicy() async throws {
        try await NamespaceFixture.with(count: 6) { namespaces in
            let cluster = try await CanalCluster(fabric: namespaces[0], nodes: Array(namespaces[1...2]))
            defer { cluster.tearDown() }
            let (webPod, clientPod, otherPod) = (namespaces[3], namespaces[4], namespaces[5])
            try cluster.start(0)
            try cluster.start(1)
            let leased = await eventually(within: 15) {
                FileManager.default.fileExists(atPath: cluster.subnetFile(0)) && FileManager.default.fileExists(atPath: cluster.subnetFile(1))
            }
            try #require(leased, "subnet.env not written: \(cluster.log(0)) \(cluster.log(1))")

            let web = try await cluster.addPod(webPod, node: 0, namespace: "x", name: "web")
            let client = try await cluster.addPod(clientPod, node: 1, namespace: "x", name: "client")
            _ = try await cluster.addPod(otherPod, node: 1, namespace: "y", name: "other")
            try await cluster.store.put(PolicyStoreKeys.podLabels(namespace: "x", name: "web"), string: #"{"app":"web"}"#)
            try await cluster.store.put(PolicyStoreKeys.podLabels(namespace: "x", name: "client"), string: #"{"app":"client"}"#)
            try await cluster.store.put(PolicyStoreKeys.podLabels(namespace: "y", name: "other"), string: #"{"app":"other"}"#)

            // The overlay: node-2's pods reach node-1's pod and back (routes converge within a resync).
            try await Self.expectPing(cluster, clientPod, web, true, "client (node-2) -> web (node-1) over VXLAN")
            try await Self.expectPing(cluster, otherPod, web, true, "other (node-2) -> web (node-1) without policy")
            try await Self.expectPing(cluster, webPod, client, true, "web (node-1) -> client (node-2)")

            // The policy, enforced by node-1's agent on web's cali interface.
            try await cluster.store.put(PolicyStoreKeys.kubernetesPolicy(namespace: "x", name: "web"), string: Self.webPolicy)
            try await Self.expectPing(cluster, otherPod, web, false, "policy: other -> web denied")
            try await Self.expectPing(cluster, clientPod, web, true, "policy: client -> web allowed")
            try await Self.expectPing(cluster, cluster.nodes[0], web, true, "policy: node-1 still reaches its own pod")

            // --listen: healthy once the policy is programmed; the policy metrics count it.
            #expect(try cluster.http(0, "/healthz") == "ok\n", "\(cluster.log(0))")
            let metrics = try #require(try cluster.http(0, "/metrics"), "\(cluster.log(0))")
            #expect(metrics.contains("# TYPE canal_policy_revision gauge"), "\(metrics)")
            #expect(metrics.contains("# TYPE canal_policy_updates_total counter"), "\(metrics)")
            #expect(try cluster.http(0, "/nothing") == nil)

            // Relabel other as a client: allowed.
            try await cluster.store.put(PolicyStoreKeys.podLabels(namespace: "y", name: "other"), string: #"{"app":"client"}"#)
            try await Self.expectPing(cluster, otherPod, web, true, "other relabelled client -> web allowed")

            // DEL removes the pod record and the host interface.
            try await cluster.deletePod(otherPod, node: 1, namespace: "y", name: "other")
            #expect(try await cluster.store.get(KeyLayout.pod(namespace: "y", name: "other")) == nil)
            for index in 0..<2 { #expect(cluster.agents[index]?.poll() == nil, "swift-canald \(index + 1) died: \(cluster.log(index))") }

            // SIGTERM stops swift-canald cleanly and its swift-flanneld child with it.
            let agent = try #require(cluster.agents[0])
            let children = Self.children(of: agent.pid)
            #expect(children.count == 1, "swift-flanneld children: \(children)")
            cluster.agents[0] = nil
            #expect(agent.terminate(graceMilliseconds: 8000)?.isSuccess == true, "\(cluster.log(0))")
            let gone = await eventually(within: 5) { children.allSatisfy { !FileManager.default.fileExists(atPath: "/proc/\($0)") } }
            #expect(gone, "swift-flanneld outlived swift-canald")
            #expect(try clientPod.ping(web), "the data path stays after the agents stop")
        }
    }
}
