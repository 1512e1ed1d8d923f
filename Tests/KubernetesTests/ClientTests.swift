import Datastore
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

@Suite("Kubernetes client against the fixture API server")
struct ClientTests {
    static func kubernetesError(_ body: () async throws -> Void) async -> KubernetesError? {
        do { try await body() } catch let error as KubernetesError { return error } catch { return nil }
        return nil
    }

    @Test func createGetListUpdateDelete() async throws {
        try await withTimeout(.seconds(60), "the CRUD session") {
            try await TestCluster.with { cluster in
                let client = try cluster.client()
                _ = try await client.create(Namespace(name: "team"))
                var pod = Pod(name: "web-1", namespace: "team")
                pod.labels = ["app": "web"]
                pod.json["spec"] = ["nodeName": "node-1", "containers": [["name": "c", "image": "busybox"]]]
                pod.json["futureField"] = ["kept": true]
                let created = try await client.create(pod)
                #expect(created.resourceVersion != nil)
                #expect(created.metadata.uid != nil)
                #expect(created.phase == "Pending")
                let read = try await client.get(Pod.self, name: "web-1", namespace: "team")
                #expect(read.json["futureField"] == ["kept": true])
                #expect(read.resourceVersion == created.resourceVersion)

                let duplicate = await Self.kubernetesError { _ = try await client.create(pod) }
                #expect(duplicate?.code == .alreadyExists)
                let missing = await Self.kubernetesError { _ = try await client.get(Pod.self, name: "nope", namespace: "team") }
                #expect(missing?.code == .notFound)
                #expect(missing?.message == "pods \"nope\" not found")
                let noNamespace = await Self.kubernetesError { _ = try await client.create(Pod(name: "x", namespace: "absent")) }
                #expect(noNamespace?.code == .notFound)

                var changed = read
                changed.labels["tier"] = "front"
                let updated = try await client.update(changed)
                #expect(updated.labels == ["app": "web", "tier": "front"])
                #expect(Int(updated.resourceVersion!)! > Int(read.resourceVersion!)!)
                let stale = await Self.kubernetesError { _ = try await client.update(changed) }
                #expect(stale?.code == .conflict)

                // status goes through the status subresource only
                var withStatus = updated
                withStatus.podIPs = ["10.244.1.5"]
                withStatus.phase = "Running"
                let ignored = try await client.update(withStatus)
                #expect(ignored.podIPs.isEmpty)
                var statusUpdate = ignored
                statusUpdate.podIPs = ["10.244.1.5"]
                statusUpdate.phase = "Running"
                let running = try await client.updateStatus(statusUpdate)
                #expect(running.podIPs == ["10.244.1.5"] && running.phase == "Running")

                var huge = Pod(name: "huge", namespace: "team")
                huge.annotations["blob"] = String(repeating: "x", count: 3 * 1024 * 1024 + 1)
                let tooLarge = await Self.kubernetesError { _ = try await client.create(huge) }
                #expect(tooLarge?.code == .requestTooLarge)

                try await client.delete(Pod.self, name: "web-1", namespace: "team")
                let gone = await Self.kubernetesError { _ = try await client.get(Pod.self, name: "web-1", namespace: "team") }
                #expect(gone?.code == .notFound)
            }
        }
    }

    @Test func selectorsAndPaging() async throws {
        try await withTimeout(.seconds(60), "selectors and paging") {
            try await TestCluster.with { cluster in
                let client = try cluster.client()
                for namespace in ["a", "b"] { _ = try await client.create(Namespace(name: namespace)) }
                for index in 0..<5 {
                    var pod = Pod(name: "p\(index)", namespace: index < 3 ? "a" : "b")
                    pod.labels = ["app": index % 2 == 0 ? "even" : "odd"]
                    pod.json["spec"] = ["nodeName": .string("node-\(index % 2)"), "containers": [["name": "c", "image": "i"]]]
                    _ = try await client.create(pod)
                }
                #expect(try await client.list(Pod.self).items.count == 5)
                #expect(try await client.list(Pod.self, namespace: "a").items.map(\.name) == ["p0", "p1", "p2"])
                #expect(try await client.list(Pod.self, options: ListOptions(labelSelector: "app=even")).items.map(\.name).sorted() == ["p0", "p2", "p4"])
                #expect(try await client.list(Pod.self, options: ListOptions(labelSelector: "app in (odd),app!=even")).items.count == 2)
                #expect(try await client.list(Pod.self, options: ListOptions(fieldSelector: "spec.nodeName=node-1")).items.map(\.name).sorted() == ["p1", "p3"])
                let unsupported = await Self.kubernetesError { _ = try await client.list(Pod.self, options: ListOptions(fieldSelector: "spec.image=x")) }
                #expect(unsupported?.code == .badRequest, "\(String(describing: unsupported))")

                let first = try await client.list(Pod.self, options: ListOptions(limit: 2))
                #expect(first.items.count == 2)
                #expect(first.remainingItemCount == 3)
                let token = try #require(first.continueToken)
                // pages stay consistent: a pod created after the first page is not in later pages
                var late = Pod(name: "p9", namespace: "b")
                late.json["spec"] = ["containers": [["name": "c", "image": "i"]]]
                _ = try await client.create(late)
                let second = try await client.list(Pod.self, options: ListOptions(limit: 2, continueToken: token))
                let third = try await client.list(Pod.self, options: ListOptions(limit: 2, continueToken: second.continueToken))
                #expect((first.items + second.items + third.items).map(\.key.description) == ["a/p0", "a/p1", "a/p2", "b/p3", "b/p4"])
                #expect(third.continueToken == nil)
                #expect(try await client.listAll(Pod.self, pageSize: 2).items.count == 6)

                // a continue token of a compacted version is 410 Expired
                let again = try await client.list(Pod.self, options: ListOptions(limit: 1))
                try await waitUntil("the watch cache catches up") {
                    await cluster.fixture.cachedRevision() >= Int64(again.resourceVersion)!
                }
                await cluster.fixture.compact()
                _ = try await client.create(Namespace(name: "c"))
                try await waitUntil("the cache sees the new namespace") {
                    await cluster.fixture.cachedRevision() > Int64(again.resourceVersion)!
                }
                await cluster.fixture.compact()
                let expired = await Self.kubernetesError {
                    _ = try await client.list(Pod.self, options: ListOptions(limit: 1, continueToken: again.continueToken))
                }
                #expect(expired?.code == .expired)
            }
        }
    }

    @Test func patchesAndNodeValidation() async throws {
        try await withTimeout(.seconds(60), "patches") {
            try await TestCluster.with { cluster in
                let client = try cluster.client()
                var node = Node(name: "node-1")
                node.podCIDR = "10.244.1.0/24"
                node.podCIDRs = ["10.244.1.0/24"]
                _ = try await client.create(node)
                let labelled = try await client.patch(
                    Node.self, name: "node-1", patch: ["metadata": ["labels": ["zone": "a"], "annotations": ["x": "1"]]], type: .strategicMerge)
                #expect(labelled.labels == ["zone": "a"] && labelled.annotations == ["x": "1"])
                let merged = try await client.patch(Node.self, name: "node-1", patch: ["metadata": ["annotations": ["x": nil]]])
                #expect(merged.annotations.isEmpty && merged.labels == ["zone": "a"])
                let conditions = try await client.patch(
                    Node.self, name: "node-1",
                    patch: ["status": ["conditions": [["type": "NetworkUnavailable", "status": "False", "reason": "FlannelIsUp"]]]],
                    type: .strategicMerge, subresource: "status")
                #expect(conditions.condition("NetworkUnavailable")?.status == "False")
                let ready = try await client.patch(
                    Node.self, name: "node-1", patch: ["status": ["conditions": [["type": "Ready", "status": "True"]]]],
                    type: .strategicMerge, subresource: "status")
                // kube-apiserver's order (golden 43): a new element goes before the server-only ones.
                #expect(ready.conditions.map(\.type) == ["Ready", "NetworkUnavailable"])

                let invalid = await Self.kubernetesError {
                    _ = try await client.patch(Node.self, name: "node-1", patch: ["spec": ["podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]]])
                }
                #expect(invalid?.code == .invalid)
                #expect(invalid?.httpStatus == 422)
                #expect(invalid?.message.contains("spec.podCIDRs") == true)
                #expect(invalid?.status?.causes.first?.field == "spec.podCIDRs")
                // setting it when empty is allowed
                _ = try await client.create(Node(name: "node-2"))
                let assigned = try await client.patch(Node.self, name: "node-2", patch: ["spec": ["podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]]])
                #expect(assigned.podCIDRs == ["10.244.2.0/24"])
                let stale = await Self.kubernetesError {
                    _ = try await client.patch(Node.self, name: "node-2", patch: ["metadata": ["resourceVersion": "1", "labels": ["a": "b"]]])
                }
                #expect(stale?.code == .conflict)
            }
        }
    }

    @Test func watchEventsBookmarksAndExpiry() async throws {
        try await withTimeout(.seconds(60), "watches") {
            try await TestCluster.with(bookmarkInterval: .milliseconds(100)) { cluster in
                let client = try cluster.client()
                _ = try await client.create(Namespace(name: "w"))
                let list = try await client.list(Namespace.self)
                let stream = try await client.watch(
                    Namespace.self, options: WatchOptions(resourceVersion: list.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 30))
                _ = try await client.create(Namespace(name: "x"))
                _ = try await client.patch(Namespace.self, name: "x", patch: ["metadata": ["labels": ["a": "b"]]])
                try await client.delete(Namespace.self, name: "x")
                var seen: [String] = []
                var bookmark: String?
                for try await event in stream {
                    switch event {
                    case .added(let object): seen.append("+\(object.name)")
                    case .modified(let object): seen.append("~\(object.name)")
                    case .deleted(let object): seen.append("-\(object.name)")
                    case .bookmark(let version): if seen.count == 3 { bookmark = version }
                    }
                    if bookmark != nil { break }
                }
                #expect(seen == ["+x", "~x", "-x"])
                let last = try await client.list(Namespace.self).resourceVersion
                #expect(bookmark == last)

                // from "0": synthetic ADDED for what exists
                let initial = try await client.watch(Namespace.self, options: WatchOptions(resourceVersion: "0", timeoutSeconds: 1))
                var names: [String] = []
                for try await event in initial { if case .added(let object) = event { names.append(object.name) } }
                #expect(names.sorted() == (APIServerFixture.systemNamespaces + ["w"]).sorted())

                await cluster.fixture.compact()
                let expired = await Self.kubernetesError {
                    for try await _ in try await client.watch(Namespace.self, options: WatchOptions(resourceVersion: list.resourceVersion)) {}
                }
                #expect(expired?.code == .expired)
                #expect(expired?.message == "The resourceVersion for the provided watch is too old.")

                let tooLarge = await Self.kubernetesError {
                    _ = try await client.list(Namespace.self, options: ListOptions(resourceVersion: String(Int64(last)! + 1000)))
                }
                #expect(tooLarge?.code == .tooLargeResourceVersion)
            }
        }
    }

    @Test func tooManyRequestsCarriesRetryAfter() async throws {
        try await withTimeout(.seconds(30), "429") {
            try await TestCluster.with { cluster in
                let client = try cluster.client()
                cluster.fixture.rejectNextRequests(1, retryAfterSeconds: 3)
                let throttled = await Self.kubernetesError { _ = try await client.list(Node.self) }
                #expect(throttled?.code == .tooManyRequests)
                #expect(throttled?.retryAfterSeconds == 3)
                #expect(try await client.list(Node.self).items.isEmpty)
                #expect(cluster.fixture.requests().map(\.status) == [429, 200])
            }
        }
    }
}
