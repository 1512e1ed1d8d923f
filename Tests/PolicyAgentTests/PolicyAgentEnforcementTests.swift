import Datastore
import Foundation
import Namespaces
import NetPrimitives
import Policy
import PolicyAgent
import Synchronization
import TestSupport
import Testing

/// The statuses an agent published, newest last.
final class StatusLog: Sendable {
    let statuses = Mutex<[PolicyAgentStatus]>([])
    var latestRevision: Int64 { statuses.withLock { $0.last?.revision ?? 0 } }
}

/// The agent in real namespaces: one node namespace, three pods on routed veths, policies and
/// labels written to a file store; pings must follow the stored policies and label changes.
@Suite("Policy agent enforcement", .serialized)
struct PolicyAgentEnforcementTests {
    static func address(_ index: Int) -> String { "10.77.0.\(11 + index)" }

    static func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws {
        let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5000)
        try #require(output.status.isSuccess, "ip \(arguments): \(String(decoding: output.standardError, as: UTF8.self))")
    }

    /// Calico-style: pod eth0 /32 with `default dev eth0`, node side `cpN` with proxy ARP.
    static func wire(node: NetworkNamespace, pods: [NetworkNamespace]) throws {
        try ip(node, ["addr", "add", "10.77.255.1/32", "dev", "lo"])
        _ = try node.runProcess("/bin/sh", arguments: ["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"], timeoutMilliseconds: 5000)
        for (index, pod) in pods.enumerated() {
            let host = "cp\(index + 1)"
            try ip(node, ["link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.name!])
            try ip(node, ["link", "set", host, "up"])
            _ = try node.runProcess("/bin/sh", arguments: ["-c",
                "echo 1 > /proc/sys/net/ipv4/conf/\(host)/proxy_arp; echo 0 > /proc/sys/net/ipv4/neigh/\(host)/proxy_delay"],
                timeoutMilliseconds: 5000)
            try ip(node, ["route", "add", "\(address(index))/32", "dev", host])
            try ip(pod, ["addr", "add", "\(address(index))/32", "dev", "eth0"])
            try ip(pod, ["link", "set", "eth0", "up"])
            try ip(pod, ["route", "add", "default", "dev", "eth0"])
        }
    }

    static func pings(_ from: NetworkNamespace, _ address: String) throws -> Bool {
        try from.runProcess("/bin/ping", arguments: ["-c", "1", "-W", "1", "-q", address], timeoutMilliseconds: 3000).status.isSuccess
    }

    /// Waits (up to 30 s: a loaded machine delays the agent's update) until the ping outcome is `expected`.
    static func expectPing(_ from: NetworkNamespace, _ address: String, _ expected: Bool, _ what: Comment) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var outcome = try pings(from, address)
        while outcome != expected && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            outcome = try pings(from, address)
        }
        #expect(outcome == expected, what)
    }

    static func put(_ store: any Datastore, _ key: String, _ value: String) async throws {
        try await store.put(key, string: value)
    }

    static let webPolicy = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: x}
        spec:
          podSelector: {matchLabels: {app: web}}
          ingress: [{from: [{podSelector: {matchLabels: {app: client}}, namespaceSelector: {}}]}]
        """

    @Test(.privileged) func enforcesStoredPoliciesAndFollowsLabels() async throws {
        try await NamespaceFixture.with(count: 4) { namespaces in
            let node = namespaces[0], pods = Array(namespaces[1...])
            try Self.wire(node: node, pods: pods)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("policy-agent-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 20)
            // x/a web (record names its interface), x/b client (lab-style record: found by route), y/c other.
            try await Self.put(store, "/swiftcni/pods/x/a",
                #"{"namespace":"x","name":"a","node":"n1","addresses":["\#(Self.address(0))"],"hostInterface":"cp1","labels":{}}"#)
            try await Self.put(store, "/swiftcni/pods/x/b",
                #"{"namespace":"x","name":"b","node":"n1","containerID":"b1","addresses":["\#(Self.address(1))"],"labels":{}}"#)
            try await Self.put(store, "/swiftcni/pods/y/c",
                #"{"namespace":"y","name":"c","node":"n1","addresses":["\#(Self.address(2))"],"labels":{}}"#)
            try await Self.put(store, PolicyStoreKeys.podLabels(namespace: "x", name: "a"), #"{"app":"web"}"#)
            try await Self.put(store, PolicyStoreKeys.podLabels(namespace: "x", name: "b"), #"{"app":"client"}"#)
            try await Self.put(store, PolicyStoreKeys.podLabels(namespace: "y", name: "c"), #"{"app":"other"}"#)
            try await Self.put(store, PolicyStoreKeys.namespaceLabels("y"), #"{"kubernetes.io/metadata.name":"y"}"#)

            let log = StatusLog()
            let agent = PolicyAgent(
                store: store, node: "n1", namespace: node, localAddresses: [try IPAddress(parsing: "10.77.255.1")],
                statusHandler: { status in log.statuses.withLock { $0.append(status) } })
            let task = Task { await agent.run() }
            defer { task.cancel() }
            let a = Self.address(0)

            try await Self.expectPing(pods[1], a, true, "no policy: b -> a")
            try await Self.expectPing(pods[2], a, true, "no policy: c -> a")

            // Once the published revision reaches the write's, the policy is enforced: one ping, no retry.
            let written = try await store.put(PolicyStoreKeys.kubernetesPolicy(namespace: "x", name: "web"), value: Array(Self.webPolicy.utf8))
            let deadline = ContinuousClock.now + .seconds(30)
            while log.latestRevision < written && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(log.latestRevision >= written)
            #expect(try !Self.pings(pods[2], a), "enforced as soon as the status says so: c (other) -> a denied")
            #expect(log.statuses.withLock { $0.allSatisfy { $0.node == "n1" } && $0.map(\.revision) == $0.map(\.revision).sorted() })
            try await Self.expectPing(pods[1], a, true, "web policy: b (client) -> a allowed")
            try await Self.expectPing(node, a, true, "the node may always reach its pods")

            // Labels change: c becomes a client, b stops being one.
            try await Self.put(store, PolicyStoreKeys.podLabels(namespace: "y", name: "c"), #"{"app":"client"}"#)
            try await Self.expectPing(pods[2], a, true, "c relabelled client -> a allowed")
            try await Self.put(store, PolicyStoreKeys.podLabels(namespace: "x", name: "b"), #"{"app":"other"}"#)
            try await Self.expectPing(pods[1], a, false, "b relabelled other -> a denied")

            // A pod going away and the policy deleted.
            _ = try await store.delete(PolicyStoreKeys.kubernetesPolicy(namespace: "x", name: "web"))
            try await Self.expectPing(pods[1], a, true, "policy deleted: b -> a allowed again")
            let enforced = await agent.currentEnforcer?.cluster.endpoints.count
            #expect(enforced == 3)
            task.cancel()
            await store.close()
        }
    }
}
