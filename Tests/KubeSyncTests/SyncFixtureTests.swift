import Datastore
import KubeSync
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

/// swift-kube-sync's library against the fixture API server on a real file store: the API's
/// state reaches the store, through compaction, dropped watches and 429 bursts, and nothing a
/// plugin, an agent or the lab wrote is deleted.
@Suite("KubeSync against the fixture API server")
struct SyncFixtureTests {
    static let backoff = Backoff(initial: .milliseconds(50), cap: .milliseconds(400), factor: 2, jitter: 1, resetAfter: .seconds(60))

    /// What other writers put in the store before the sync starts (some at keys the API will
    /// also name): a plugin's pod record, the lab's namespace labels, pod labels and policy, an
    /// agent's node record, an IPAM block.
    static let foreign: [(String, String)] = [
        ("/swiftcni/pods/r/p3", #"{"addresses":["10.244.9.3"],"containerID":"c-p3","hostInterface":"cali00000p3","name":"p3","namespace":"r","node":"node-1"}"#),
        ("/swiftcni/pods/lab/x", #"{"addresses":["10.244.9.9"],"containerID":"lab-x-1","labels":{"app":"lab"},"name":"x","namespace":"lab","node":"node-0"}"#),
        ("/swiftcni/labels/pod/lab/x", #"{"app":"lab"}"#),
        ("/swiftcni/labels/namespace/_cluster/lab", #"{"kubernetes.io/metadata.name":"lab"}"#),
        ("/swiftcni/policies/k8s/lab/lp", #"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"lp","namespace":"lab"},"spec":{"podSelector":{}}}"#),
        ("/swiftcni/nodes/node-2", #"{"addresses":["192.168.77.12"],"asNumber":64512,"bgpPort":179,"name":"node-2"}"#),
        ("/swiftcni/ipam/blocks/10.244.9.0-26", #"{"affinity":"node-1","allocations":{"3":"k8s-pod-network.c-p3"},"cidr":"10.244.9.0/26"}"#),
    ]

    @Test func randomOperationsWithFaultsConvergeAndKeepForeignKeys() async throws {
        let seed = TestSeed.current
        print("randomOperationsWithFaultsConvergeAndKeepForeignKeys seed \(seed) (replay: SWIFTCNI_FUZZ_SEED=\(seed))")
        try await withTimeout(.seconds(90), "300 random API operations mirrored") {
            let directory = try TestDirectories.temporary(prefix: "swiftcni-kubesync-")
            defer { TestDirectories.remove(directory) }
            let store = try FileDatastore(directory: directory + "/store", pollIntervalMilliseconds: 10, synchronousWrites: false)
            for (key, value) in Self.foreign { _ = try await store.put(key, value: Array(value.utf8)) }
            let fixture = try await APIServerFixture.start(store: store, bookmarkInterval: .milliseconds(200))
            defer { Task { await fixture.shutdown() } }
            let client = try KubernetesClient(configuration: ClientConfiguration(server: fixture.url, requestTimeout: .seconds(10)))
            let sync = KubeSync(
                client: client, store: store,
                options: KubeSyncOptions(
                    resyncInterval: .seconds(30), markerInterval: .milliseconds(200),
                    informer: InformerOptions(minWatchTimeout: .seconds(3), backoff: Self.backoff, pageSize: 7)))
            let runner = Task { await sync.run() }
            defer { runner.cancel() }

            var random = SplitMix64(seed: seed)
            let operations = RandomOperations(client: client)
            for index in 0..<300 {
                switch index {
                case 100: await fixture.compact()
                case 150: await fixture.dropWatches()
                case 200: fixture.rejectNextRequests(25, retryAfterSeconds: 0)
                default: break
                }
                try await operations.perform(&random)
            }

            // Converged within 10 s: the store holds exactly what a fresh list implies.
            let deadline = ContinuousClock.now + .seconds(10)
            var last = ""
            while true {
                let mismatch = try await Self.mismatch(client: client, store: store)
                if mismatch == nil { break }
                last = mismatch!
                guard ContinuousClock.now < deadline else {
                    Issue.record("10 s after the last operation the store still differs from a fresh list: \(last) (seed \(seed))")
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            // Nothing another writer stored was deleted; only the plugin's record at an API
            // pod's key may carry the pod's labels (its own fields unchanged).
            for (key, value) in Self.foreign {
                let stored = try #require(try await store.get(key), "\(key) (written by another component) was deleted")
                if key == "/swiftcni/pods/r/p3" {
                    let record = try PodRecord(decoding: stored.value, key: key)
                    #expect(record.containerID == "c-p3")
                    #expect(record.hostInterface == "cali00000p3")
                } else {
                    #expect(stored.string == value, "\(key) changed")
                }
            }
            let marker = try #require(try await store.get(KeyLayout.kubernetesSyncMarker))
            #expect(marker.string.contains(#""networkpolicies":"networking.k8s.io/v1""#))
            #expect(fixture.requests().contains { $0.status == 429 })
            let log = fixture.requests()
            print("request log: \(log.count) requests, \(log.filter { $0.status == 410 }.count) answered 410, \(log.filter { $0.status == 429 }.count) answered 429, \(log.filter { $0.isWatch }.count) watches")
        }
    }

    /// `--allocate-node-cidrs`: nodes without a pod CIDR get the lowest free ones, written to the
    /// API (and from there to the node records); a node's existing CIDR is kept.
    @Test func allocatesNodeCIDRsThroughTheAPI() async throws {
        try await withTimeout(.seconds(60), "node CIDRs allocated") {
            let directory = try TestDirectories.temporary(prefix: "swiftcni-kubesync-")
            defer { TestDirectories.remove(directory) }
            let store = try FileDatastore(directory: directory + "/store", pollIntervalMilliseconds: 10, synchronousWrites: false)
            let fixture = try await APIServerFixture.start(store: store, bookmarkInterval: .milliseconds(200))
            defer { Task { await fixture.shutdown() } }
            let client = try KubernetesClient(configuration: ClientConfiguration(server: fixture.url, requestTimeout: .seconds(10)))
            var holding = Node(name: "node-c")
            holding.podCIDRs = ["10.244.0.0/24"]
            holding.podCIDR = "10.244.0.0/24"
            _ = try await client.create(holding)
            for name in ["node-b", "node-a"] { _ = try await client.create(Node(name: name)) }
            let sync = KubeSync(
                client: client, store: store,
                options: KubeSyncOptions(
                    markerInterval: .milliseconds(100), nodeCIDRs: try NodeCIDRAllocator(clusterCIDR: "10.244.0.0/16", maskSize: 24),
                    informer: InformerOptions(backoff: Self.backoff)))
            let runner = Task { await sync.run() }
            defer { runner.cancel() }
            let expected = ["node-a": "10.244.1.0/24", "node-b": "10.244.2.0/24", "node-c": "10.244.0.0/24"]
            while true {
                let nodes = try await client.list(Node.self).items
                let records = try await ClusterRegistry(store: store).nodes()
                if Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, $0.podCIDR ?? "") }) == expected,
                    Dictionary(uniqueKeysWithValues: records.map { ($0.name, $0.podCIDRs?.first ?? "") }) == expected
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await client.get(Node.self, name: "node-a").podCIDRs == ["10.244.1.0/24"])
        }
    }

    /// nil when the store reflects a fresh list of the API; else what differs.
    static func mismatch(client: KubernetesClient, store: any Datastore) async throws -> String? {
        let nodes = try await client.list(Node.self).items
        let pods = try await client.list(Pod.self).items
        let namespaces = try await client.list(Namespace.self).items
        let policies = try await client.list(NetworkPolicy.self).items
        var stored: [String: KeyValue] = [:]
        for prefix in SyncStoreView.prefixes {
            for item in try await store.list(prefix: prefix).items { stored[item.key] = item }
        }
        // Checked directly: every mirrored pod's record says what the API says, and the sync's
        // marked pod records are exactly the mirrored pods.
        let mirrored = pods.filter(ClusterView.isMirrored)
        for pod in mirrored {
            let key = KeyLayout.pod(namespace: pod.namespace!, name: pod.name)
            guard let item = stored[key], let record = try? PodRecord(decoding: item.value, key: key) else { return "no record at \(key)" }
            guard record.labels ?? [:] == pod.labels, record.addresses == pod.podIPs, record.node == pod.nodeName else {
                return "\(key) holds \(item.string), the API says labels \(pod.labels) ips \(pod.podIPs)"
            }
        }
        let marked = Set(stored.filter { $0.key.hasPrefix(KeyLayout.pods) }.compactMap { item -> String? in
            guard let record = try? PodRecord(decoding: item.value.value, key: item.key) else { return nil }
            return SyncMarks.mark(of: record.unknownFields) != nil ? item.key : nil
        })
        let expected = Set(mirrored.map { KeyLayout.pod(namespace: $0.namespace!, name: $0.name) })
        guard marked == expected else { return "marked pod records \(marked.sorted()) ≠ mirrored pods \(expected.sorted())" }
        let policyKeys = Set(stored.keys.filter { $0.hasPrefix(KeyLayout.policies) && SyncMarks.mark(ofPolicy: stored[$0]!.value) != nil })
        let expectedPolicies = Set(policies.map { KeyLayout.kubernetesPolicy(namespace: $0.namespace!, name: $0.name) })
            .subtracting(["/swiftcni/policies/k8s/lab/lp"])
        guard policyKeys == expectedPolicies else { return "policy keys \(policyKeys.sorted()) ≠ \(expectedPolicies.sorted())" }
        // And the planner finds nothing left to do.
        let plan = SyncPlanner.plan(
            cluster: ClusterView(nodes: nodes, pods: pods, namespaces: namespaces, networkPolicies: policies), store: stored)
        guard plan.operations.isEmpty else { return "still to do: \(plan.operations.prefix(3))" }
        return nil
    }
}

/// Random API operations on a few names (so creates, updates and deletes of one object mix).
struct RandomOperations {
    let client: KubernetesClient
    let namespaces = ["r", "s", "lab"]
    let nodes = ["node-0", "node-1", "node-2", "node-3"]

    func perform(_ random: inout SplitMix64) async throws {
        let namespace = namespaces.randomElement(using: &random)!
        let name = "p\(Int.random(in: 0..<6, using: &random))"
        let labels = ["app": ["web", "db", "cache"].randomElement(using: &random)!]
        let policyName = "np\(Int.random(in: 0..<3, using: &random))"
        let node = nodes.randomElement(using: &random)!
        let unscheduled = Int.random(in: 0..<6, using: &random) == 0
        let hostNetwork = Int.random(in: 0..<8, using: &random) == 0
        let ip = "10.244.\(Int.random(in: 0..<4, using: &random)).\(Int.random(in: 2..<250, using: &random))"
        switch Int.random(in: 0..<12, using: &random) {
        case 0, 1:
            var pod = Pod(name: name, namespace: namespace)
            pod.labels = labels
            pod.json["spec"] = [
                "nodeName": unscheduled ? .null : .string(node),
                "hostNetwork": .bool(hostNetwork),
                "containers": [["name": "c", "image": "busybox", "ports": [["name": "http", "containerPort": 80]]]],
            ]
            await ignoringExpected { _ = try await client.create(pod) }
        case 2, 3:
            let patch: JSONValue = ["status": ["phase": "Running", "podIP": .string(ip), "podIPs": [["ip": .string(ip)]]]]
            await ignoringExpected { _ = try await client.patch(Pod.self, name: name, namespace: namespace, patch: patch, subresource: "status") }
        case 4:
            await ignoringExpected { _ = try await client.patch(Pod.self, name: name, namespace: namespace, patch: ["metadata": ["labels": .object(labels.mapValues { .string($0) })]]) }
        case 5:
            await ignoringExpected { try await client.delete(Pod.self, name: name, namespace: namespace) }
        case 6:
            var policy = NetworkPolicy(name: policyName, namespace: namespace)
            policy.spec = ["podSelector": ["matchLabels": .object(labels.mapValues { .string($0) })], "policyTypes": ["Ingress"]]
            await ignoringExpected {
                do { _ = try await client.create(policy) } catch let error as KubernetesError where error.code == .alreadyExists {
                    _ = try await client.patch(NetworkPolicy.self, name: policy.name, namespace: namespace, patch: ["spec": .object(policy.spec)])
                }
            }
        case 7:
            await ignoringExpected { try await client.delete(NetworkPolicy.self, name: policyName, namespace: namespace) }
        case 8:
            var object = Namespace(name: namespace)
            object.labels = ["team": labels["app"]!]
            await ignoringExpected {
                do { _ = try await client.create(object) } catch let error as KubernetesError where error.code == .alreadyExists {
                    _ = try await client.patch(Namespace.self, name: namespace, patch: ["metadata": ["labels": ["team": .string(labels["app"]!)]]])
                }
            }
        case 9:
            var object = Node(name: node)
            object.json["status"] = ["addresses": [["type": "InternalIP", "address": .string("192.168.77.\(10 + nodes.firstIndex(of: node)!)")]]]
            await ignoringExpected { _ = try await client.create(object) }
        case 10:
            await ignoringExpected { try await client.delete(Node.self, name: node) }
        default:
            // an unrelated namespace's pod churn, to move resource versions
            await ignoringExpected { _ = try await client.patch(Namespace.self, name: "default", patch: ["metadata": ["annotations": ["tick": .string(name)]]]) }
        }
    }

    /// Runs one operation: answers a random sequence is bound to get (exists, not found,
    /// conflict) are fine; a 429 is retried.
    func ignoringExpected(_ body: () async throws -> Void) async {
        for _ in 0..<100 {
            do {
                try await body()
                return
            } catch let error as KubernetesError where error.code == .tooManyRequests {
                try? await Task.sleep(for: .milliseconds(20))
            } catch {
                return
            }
        }
    }
}
