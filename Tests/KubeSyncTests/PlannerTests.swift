import Datastore
import KubeSync
import Kubernetes
import Policy
import Testing

/// An in-memory store for planner tests: applies a plan with the same conditions the service uses.
struct PlanStore {
    var items: [String: KeyValue] = [:]
    var revision: Int64 = 1

    mutating func put(_ key: String, _ value: String) {
        revision += 1
        items[key] = KeyValue(key: key, value: Array(value.utf8), createRevision: revision, modRevision: revision, version: 1)
    }

    /// Applies `plan` in order, stopping at the first failed condition; returns how many applied.
    @discardableResult
    mutating func apply(_ plan: SyncPlan) -> Int {
        var applied = 0
        for operation in plan.operations {
            let current = items[operation.key]
            switch operation.expecting {
            case .absent: guard current == nil else { return applied }
            case .modRevision(let revision): guard current?.modRevision == revision else { return applied }
            }
            switch operation.action {
            case .put(let value):
                revision += 1
                items[operation.key] = KeyValue(key: operation.key, value: value, createRevision: revision, modRevision: revision, version: 1)
            case .delete:
                items[operation.key] = nil
            }
            applied += 1
        }
        return applied
    }

    func record(_ key: String) throws -> PodRecord? { try items[key].map { try PodRecord(decoding: $0.value, key: key) } }
}

enum Objects {
    static func pod(
        _ name: String, namespace: String = "x", node: String? = "node-1", ips: [String] = ["10.244.1.2"],
        labels: [String: String] = ["app": "web"], hostNetwork: Bool = false, phase: String = "Running"
    ) -> Pod {
        var pod = Pod(name: name, namespace: namespace)
        pod.json["metadata"]?.setObject("uid", .string("uid-\(namespace)-\(name)"))
        if !labels.isEmpty { pod.json["metadata"]?.setObject("labels", .object(labels.mapValues { .string($0) })) }
        pod.nodeName = node
        pod.json["spec"]?.setObject("hostNetwork", .bool(hostNetwork))
        pod.json["spec"]?.setObject("containers", [
            ["name": "c", "ports": [["name": "http", "containerPort": 80], ["name": "dns", "containerPort": 53, "protocol": "UDP"]]]
        ])
        pod.podIPs = ips
        pod.phase = phase
        return pod
    }

    static func node(_ name: String, address: String = "192.168.77.10", podCIDR: String? = nil) -> Node {
        var node = Node(name: name)
        node.json["metadata"]?.setObject("uid", .string("uid-\(name)"))
        node.json["status"] = ["addresses": [["type": "InternalIP", "address": .string(address)], ["type": "Hostname", "address": .string(name)]]]
        if let podCIDR { node.podCIDRs = [podCIDR] }
        return node
    }

    static func namespace(_ name: String, labels: [String: String] = [:]) -> Namespace {
        var namespace = Namespace(name: name)
        if !labels.isEmpty { namespace.json["metadata"]?.setObject("labels", .object(labels.mapValues { .string($0) })) }
        return namespace
    }

    static func policy(_ name: String, namespace: String = "x", app: String = "web") -> Kubernetes.NetworkPolicy {
        var policy = Kubernetes.NetworkPolicy(name: name, namespace: namespace)
        policy.spec = ["podSelector": ["matchLabels": ["app": .string(app)]], "policyTypes": ["Ingress"]]
        return policy
    }
}

extension JSONValue {
    mutating func setObject(_ key: String, _ value: JSONValue) {
        guard case .object(var object) = self else { return }
        object[key] = value
        self = .object(object)
    }
}

@Suite("SyncPlanner")
struct PlannerTests {
    @Test func mirrorsScheduledPodsWithAddressesOnly() throws {
        let cluster = ClusterView(pods: [
            Objects.pod("a"), Objects.pod("unscheduled", node: nil), Objects.pod("host", hostNetwork: true),
            Objects.pod("noip", ips: []), Objects.pod("done", phase: "Succeeded"),
        ])
        var store = PlanStore()
        store.apply(SyncPlanner.plan(cluster: cluster, store: store.items))
        #expect(store.items.keys.filter { $0.hasPrefix(KeyLayout.pods) } == ["/swiftcni/pods/x/a"])
        let record = try #require(try store.record("/swiftcni/pods/x/a"))
        #expect(record.node == "node-1")
        #expect(record.addresses == ["10.244.1.2"])
        #expect(record.labels == ["app": "web"])
        #expect(record.ports == [PortRecord(name: "dns", port: 53, protocol: "UDP"), PortRecord(name: "http", port: 80, protocol: "TCP")])
        #expect(SyncMarks.mark(of: record.unknownFields) == "uid-x-a")
        // level-triggered: nothing left to do
        #expect(SyncPlanner.plan(cluster: cluster, store: store.items).operations.isEmpty)
    }

    @Test func mergesIntoAPluginRecordAndOnlyUnmarksItWhenThePodGoes() throws {
        var store = PlanStore()
        store.put("/swiftcni/pods/x/a", #"{"addresses":["10.244.1.2"],"containerID":"c1","hostInterface":"cali0123","name":"a","namespace":"x","node":"node-1","plugin":"kept"}"#)
        store.apply(SyncPlanner.plan(cluster: ClusterView(pods: [Objects.pod("a")]), store: store.items))
        var record = try #require(try store.record("/swiftcni/pods/x/a"))
        #expect(record.hostInterface == "cali0123")
        #expect(record.containerID == "c1")
        #expect(record.unknownFields["plugin"] == .string("kept"))
        #expect(record.labels == ["app": "web"])
        #expect(SyncMarks.mark(of: record.unknownFields) != nil)

        store.apply(SyncPlanner.plan(cluster: ClusterView(), store: store.items))
        record = try #require(try store.record("/swiftcni/pods/x/a"), "a record a plugin wrote is never deleted")
        #expect(SyncMarks.mark(of: record.unknownFields) == nil)
        #expect(record.hostInterface == "cali0123")
        #expect(SyncPlanner.plan(cluster: ClusterView(), store: store.items).operations.isEmpty)
    }

    @Test func deletesOnlyWhatItWrote() throws {
        var store = PlanStore()
        store.put("/swiftcni/pods/y/lab", #"{"addresses":["10.244.2.2"],"containerID":"lab-1","labels":{"a":"b"},"name":"lab","namespace":"y","node":"node-2"}"#)
        store.put("/swiftcni/nodes/node-9", #"{"name":"node-9","addresses":["192.168.77.19"],"asNumber":64512}"#)
        store.put("/swiftcni/policies/k8s/y/lab-policy", #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"lab-policy","namespace":"y"},"spec":{"podSelector":{}}}"#)
        store.put("/swiftcni/labels/namespace/_cluster/y", #"{"kubernetes.io/metadata.name":"y"}"#)
        let foreign = store.items
        let cluster = ClusterView(
            nodes: [Objects.node("node-1")], pods: [Objects.pod("a")], namespaces: [Objects.namespace("x", labels: ["team": "t"])],
            networkPolicies: [Objects.policy("p")])
        store.apply(SyncPlanner.plan(cluster: cluster, store: store.items))
        #expect(store.items["/swiftcni/pods/x/a"] != nil)
        #expect(store.items["/swiftcni/nodes/node-1"] != nil)
        #expect(store.items["/swiftcni/policies/k8s/x/p"] != nil)
        #expect(store.items["/swiftcni/sync/kubernetes/namespaces/x"] != nil)
        #expect(store.items["/swiftcni/labels/namespace/_cluster/x"]?.string == #"{"kubernetes.io/metadata.name":"x","team":"t"}"#)
        // everything goes from the API: the sync's keys go, the foreign ones stay as they were
        store.apply(SyncPlanner.plan(cluster: ClusterView(), store: store.items))
        #expect(store.items == foreign)
    }

    @Test func leavesForeignKeysAloneAndSaysSo() throws {
        var store = PlanStore()
        store.put("/swiftcni/nodes/node-1", #"{"name":"node-1","addresses":["192.168.77.10"],"asNumber":64512,"bgpPort":179}"#)
        store.put("/swiftcni/policies/k8s/x/p", #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"x"},"spec":{"podSelector":{}}}"#)
        store.put("/swiftcni/labels/namespace/_cluster/x", #"{"kubernetes.io/metadata.name":"x"}"#)
        store.put("/swiftcni/pods/x/bad", "{not json")
        let before = store.items
        let plan = SyncPlanner.plan(
            cluster: ClusterView(
                nodes: [Objects.node("node-1", podCIDR: "10.244.1.0/24")], pods: [Objects.pod("bad")],
                namespaces: [Objects.namespace("x")], networkPolicies: [Objects.policy("p")]),
            store: store.items)
        store.apply(plan)
        #expect(store.items == before)
        #expect(Set(plan.problems.map(\.code)) == [.foreignKey, .malformedRecord])
        #expect(plan.problems.contains { $0.key == "/swiftcni/pods/x/bad" })
    }

    @Test func storedPolicyIsWhatThePolicyAgentParses() throws {
        var store = PlanStore()
        store.apply(SyncPlanner.plan(cluster: ClusterView(networkPolicies: [Objects.policy("p", app: "db")]), store: store.items))
        let value = try #require(store.items["/swiftcni/policies/k8s/x/p"])
        let set = try PolicySet(parsing: value.string)
        #expect(set.networkPolicies.map(\.name) == ["p"])
        #expect(set.networkPolicies.first?.namespace == "x")
        #expect(SyncMarks.mark(ofPolicy: value.value) != nil)
        // a changed spec is written again, an unchanged one is not
        #expect(SyncPlanner.plan(cluster: ClusterView(networkPolicies: [Objects.policy("p", app: "db")]), store: store.items).operations.isEmpty)
        #expect(SyncPlanner.plan(cluster: ClusterView(networkPolicies: [Objects.policy("p", app: "web")]), store: store.items).operations.count == 1)
    }

    @Test func nodeRecordsCarryAddressesAndPodCIDRs() throws {
        var store = PlanStore()
        store.apply(SyncPlanner.plan(cluster: ClusterView(nodes: [Objects.node("node-1", podCIDR: "10.244.1.0/24")]), store: store.items))
        let record = try NodeRecord(decoding: try #require(store.items["/swiftcni/nodes/node-1"]).value, key: "/swiftcni/nodes/node-1")
        #expect(record.addresses == ["192.168.77.10"])
        #expect(record.podCIDRs == ["10.244.1.0/24"])
    }
}

@Suite("NodeCIDRAllocator")
struct NodeCIDRAllocatorTests {
    @Test func givesTheLowestFreeCIDRsInNameOrder() throws {
        let allocator = try NodeCIDRAllocator(clusterCIDR: "10.244.0.0/16", maskSize: 24)
        let (assignments, problems) = allocator.assignments(for: [
            Objects.node("node-b"), Objects.node("node-a"), Objects.node("node-c", podCIDR: "10.244.0.0/24"),
        ])
        #expect(problems.isEmpty)
        #expect(assignments == ["node-a": "10.244.1.0/24", "node-b": "10.244.2.0/24"])
    }

    @Test func reportsExhaustionAndBadSettings() throws {
        let allocator = try NodeCIDRAllocator(clusterCIDR: "10.244.0.0/23", maskSize: 24)
        let (assignments, problems) = allocator.assignments(for: [Objects.node("a"), Objects.node("b"), Objects.node("c")])
        #expect(assignments.count == 2)
        #expect(problems.map(\.code) == [.cidrsExhausted])
        #expect(throws: KubeSyncError.self) { try NodeCIDRAllocator(clusterCIDR: "10.244.0.1/16", maskSize: 24) }
        #expect(throws: KubeSyncError.self) { try NodeCIDRAllocator(clusterCIDR: "10.244.0.0/16", maskSize: 8) }
        #expect(throws: KubeSyncError.self) { try NodeCIDRAllocator(clusterCIDR: "nonsense", maskSize: 24) }
    }
}
