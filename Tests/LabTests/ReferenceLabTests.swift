import Datastore
import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// One lab with the reference profile (bridge + host-local, static routes by the lab):
/// 2 nodes, 2 pods each, the full probe matrix, agents, labels, then a crash and `down`.
@Suite(.serialized) struct ReferenceLabTests {
    @Test(.privileged) func twoNodesFourPodsConnectedThenCrashTeardown() async throws {
        let directory = try LabTestSupport.temporaryDirectory()
        let labName = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: labName, stateDirectory: directory + "/lab")
            try? FileManager.default.removeItem(atPath: directory)
        }
        let lab = try await Lab.up(
            LabConfiguration(
                name: labName, stateDirectory: directory + "/lab",
                profile: .reference(agent: LabTestSupport.standInAgent), nodeCount: 2))
        let nodes = await lab.nodes()
        #expect(nodes.map(\.index) == [0, 1])
        #expect(nodes.allSatisfy { $0.agent == .running })
        #expect(nodes.map(\.subnet) == ["10.244.1.0/24", "10.244.2.0/24"])

        var pods: [LabPod] = []
        for (index, name) in ["a", "b", "c", "d"].enumerated() {
            pods.append(try await lab.addPod(try PodReference(namespace: "x", name: name), node: index % 2, labels: ["pod": name]))
        }
        #expect(pods.allSatisfy { $0.address != nil && $0.containerID.hasPrefix("x-\($0.name)-") })
        #expect(pods[0].address!.hasPrefix("10.244.1.") && pods[1].address!.hasPrefix("10.244.2."))

        let results = try await lab.probe(ProbeOptions(timeoutMilliseconds: 500))
        #expect(results.count == 4 * 3 * 2 * 2)
        #expect(results.allSatisfy { $0.connected }, "not connected: \(results.filter { !$0.connected })")
        // A port nobody serves is reported as not connected (the probe can fail).
        let closed = try await lab.probe(ProbeOptions(ports: [82], timeoutMilliseconds: 200))
        #expect(closed.count == 12 * 2 && closed.allSatisfy { !$0.connected })

        // Labels.
        #expect(try await lab.labelPod(try PodReference(parsing: "x/a"), ["tier=web", "pod-"]) == ["tier": "web"])
        #expect(try await lab.labelNamespace("x", ["team=blue"]) == ["kubernetes.io/metadata.name": "x", "team": "blue"])

        // Pods and labels are in the lab's file store (Datastore key layout).
        let store = try StoreLocation.open("file:" + directory + "/lab/store")
        #expect(try await store.get("/swiftcni/labels/pod/x/a")?.string == #"{"tier":"web"}"#)
        #expect(try await store.get("/swiftcni/labels/namespace/_cluster/x")?.string == #"{"kubernetes.io/metadata.name":"x","team":"blue"}"#)
        #expect(try await store.get("/swiftcni/pods/x/d")?.string.contains(#""node":"node-1""#) == true)
        await store.close()

        // Pod delete.
        try await lab.deletePod(try PodReference(parsing: "x/d"))
        #expect(await lab.pods().count == 3)
        #expect(!NetworkNamespace.exists(name: pods[3].networkNamespace))
        let reopened = try StoreLocation.open("file:" + directory + "/lab/store")
        #expect(try await reopened.get("/swiftcni/pods/x/d") == nil)
        await reopened.close()

        // A failed ADD rolls back: host-local cannot create its directory (a file is in the way).
        let blocker = directory + "/lab/nodes/1/ipam/cnilab"
        try FileManager.default.moveItem(atPath: blocker, toPath: blocker + ".saved")
        _ = FileManager.default.createFile(atPath: blocker, contents: Data())
        let namespacesBefore = LabTestSupport.namespaces(of: labName)
        await #expect(throws: LabError.self) { try await lab.addPod(try PodReference(parsing: "x/e"), node: 1) }
        #expect(await lab.pods().count == 3)
        #expect(LabTestSupport.namespaces(of: labName) == namespacesBefore)
        try FileManager.default.removeItem(atPath: blocker)
        try FileManager.default.moveItem(atPath: blocker + ".saved", toPath: blocker)
        #expect(try await lab.addPod(try PodReference(parsing: "x/e"), node: 1).address != nil)
        try await lab.deletePod(try PodReference(parsing: "x/e"))

        // Agent lifecycle.
        try await lab.stopAgent(1)
        #expect(await lab.nodes()[1].agent == .stopped)
        try await lab.startAgent(1)
        #expect(await lab.nodes()[1].agent == .running)

        // Crash: an agent is killed and the lab object is abandoned without cleanup.
        try await lab.killAgent(0)
        #expect(await lab.nodes()[0].agent == .stopped)
        let state = try String(contentsOfFile: directory + "/lab/state.json", encoding: .utf8)
        let pids = try #require(try JSONSerialization.jsonObject(with: Data(state.utf8)) as? [String: Any])["processes"]
            .flatMap { $0 as? [[String: Any]] }?.compactMap { $0["pid"] as? Int32 } ?? []
        #expect(!pids.isEmpty)
        #expect(LabTestSupport.namespaces(of: labName).count == 1 + 2 + 3)

        let report = try await lab.down()
        #expect(report.removedStateDirectory)
        #expect(LabTestSupport.namespaces(of: labName).isEmpty)
        #expect(pids.allSatisfy { !LabTestSupport.isAlive($0) })
        #expect(!FileManager.default.fileExists(atPath: directory + "/lab"))
    }
}
