import ChildProcess
import Datastore
import Foundation
import Lab
import LabProfiles
import Namespaces
import NetpolConformance
import NetpolConformanceLab
import Testing
import TestSupport

/// `cnilab up --kube`: calico and canal labs fed by swift-kube-sync from the lab's API server.
/// A NetworkPolicy applied with kubectl (inside the fabric namespace, with `cnilab kubeconfig`)
/// is enforced on every node, `kubectl label pod` re-opens it, deleting it removes the deny;
/// the agents run unchanged (they read the store the sync fills).
@Suite(.serialized) struct KubeLabTests {
    static let policy = """
        {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"web-from-clients","namespace":"x"},
         "spec":{"podSelector":{"matchLabels":{"app":"web"}},"policyTypes":["Ingress"],
                 "ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}]}]}}
        """

    @Test(.privileged) func calicoLabFollowsKubectl() async throws {
        try await Self.kubectlScenario(profile: CalicoProfile(.fast))
    }

    @Test(.privileged) func canalLabFollowsKubectlAndNetpolCases() async throws {
        try await Self.kubectlScenario(profile: CanalProfile(), netpolCases: Array(NetpolCatalogue.representative.prefix(4)))
    }

    static func kubectlScenario(profile: some LabProfile, netpolCases: [NetpolCase] = []) async throws {
        try await withTimeout(.seconds(240), "the \(profile) lab through the API") {
            let root = try LabTestSupport.temporaryDirectory()
            let name = LabTestSupport.uniqueLabName()
            let directory = root + "/lab"
            defer {
                _ = try? Lab.down(name: name, stateDirectory: directory)
                try? FileManager.default.removeItem(atPath: root)
            }
            let lab = try await Lab.up(
                LabConfiguration(name: name, stateDirectory: directory, profile: profile, nodeCount: netpolCases.isEmpty ? 2 : 3, kubernetes: true))
            #expect(await lab.usesKubernetes)
            let kubeconfig = root + "/kubeconfig"
            try await lab.kubeconfig().write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let kubectl = Kubectl(fabric: try NetworkNamespace.open(name: "cnilab-\(name)-fabric"), kubeconfig: kubeconfig, home: root)

            for (pod, node, labels) in [("web0", 0, ["app": "web"]), ("web1", 1, ["app": "web"]), ("c0", 0, ["role": "other"]), ("c1", 1, ["role": "other"])] {
                try await lab.addPod(PodReference(namespace: "x", name: pod), node: node, labels: labels)
            }
            let nodes = try await kubectl.run(["get", "nodes", "-o", "name"])
            #expect(nodes.contains("node/node-0") && nodes.contains("node/node-1"))
            #expect(try await kubectl.run(["get", "pods", "-n", "x", "-o", "name"]).contains("pod/web1"))
            // The plugin's record carries the pod's labels too (merged by the sync).
            try await lab.waitForPolicyEnforcement(timeout: .seconds(30))
            let record = try await Self.podRecord(lab: lab, directory: directory, namespace: "x", name: "web0")
            #expect(record.labels == ["app": "web"])
            #expect(SyncMarksCheck.isMarked(record))
            #expect(try await Self.reachability(lab) == Self.all(true))

            // kubectl create: every web pod (one per node) refuses c0 and c1.
            try Self.policy.write(toFile: root + "/policy.json", atomically: true, encoding: .utf8)
            #expect(try await kubectl.run(["create", "--validate=false", "-f", root + "/policy.json"]).contains("created"))
            try await lab.waitForPolicyEnforcement(timeout: .seconds(30))
            #expect(try await Self.reachability(lab) == Self.all(false))

            // kubectl label pod: c1 becomes a client and gets in, on both nodes; c0 stays out.
            #expect(try await kubectl.run(["label", "pod", "c1", "-n", "x", "role=client", "--overwrite"]).contains("labeled"))
            try await lab.waitForPolicyEnforcement(timeout: .seconds(30))
            #expect(try await Self.reachability(lab) == ["c0>web0": false, "c0>web1": false, "c1>web0": true, "c1>web1": true])

            // kubectl delete: the deny is gone everywhere.
            #expect(try await kubectl.run(["delete", "networkpolicy", "web-from-clients", "-n", "x"]).contains("deleted"))
            try await lab.waitForPolicyEnforcement(timeout: .seconds(30))
            #expect(try await Self.reachability(lab) == Self.all(true))
            #expect(try await lab.policies().isEmpty)

            if !netpolCases.isEmpty {
                // cnilab netpol's runner, through the API path (pods, labels, policies via the API).
                for pod in ["web0", "web1", "c0", "c1"] { try await lab.deletePod(PodReference(namespace: "x", name: pod)) }
                let runner = NetpolRunner(lab: lab)
                try await runner.prepare()
                let report = try await runner.run(netpolCases)
                #expect(report.failed == 0, "\(report.text)")
                print(report.text)
            }
            try await lab.down()
            #expect(LabTestSupport.namespaces(of: name).isEmpty)
        }
    }

    static func all(_ connected: Bool) -> [String: Bool] {
        ["c0>web0": connected, "c0>web1": connected, "c1>web0": connected, "c1>web1": connected]
    }

    /// TCP port 80 from the clients to the web pods.
    static func reachability(_ lab: Lab) async throws -> [String: Bool] {
        let results = try await lab.probe(ProbeOptions(ports: [80], protocols: [.tcp], timeoutMilliseconds: 500))
        var table: [String: Bool] = [:]
        for result in results where result.from.hasPrefix("x/c") && result.to.hasPrefix("x/web") {
            table["\(result.from.dropFirst(2))>\(result.to.dropFirst(2))"] = result.connected
        }
        return table
    }

    static func podRecord(lab: Lab, directory: String, namespace: String, name: String) async throws -> PodRecord {
        let store = try FileDatastore(directory: directory + "/store")
        let key = KeyLayout.pod(namespace: namespace, name: name)
        let item = try #require(try await store.get(key))
        await store.close()
        return try PodRecord(decoding: item.value, key: key)
    }
}

enum SyncMarksCheck {
    /// swift-kube-sync's mark on a record (`kubernetesUID`, Documentation/Datastore.md).
    static func isMarked(_ record: PodRecord) -> Bool { record.unknownFields["kubernetesUID"] != nil }
}

/// kubectl run inside the lab's fabric namespace (where the API server is reachable).
struct Kubectl {
    let fabric: NetworkNamespace
    let kubeconfig: String
    let home: String

    func run(_ arguments: [String]) async throws -> String {
        let output = try fabric.runProcess(
            "/usr/bin/kubectl", arguments: ["--kubeconfig", kubeconfig, "--cache-dir", home + "/kubectl-cache"] + arguments,
            environment: ["HOME": home, "PATH": "/usr/bin:/bin"], timeoutMilliseconds: 30_000)
        let text = String(decoding: output.standardOutput, as: UTF8.self)
        guard output.status.isSuccess else {
            throw LabError(.process, "kubectl \(arguments.joined(separator: " ")) failed: \(text) \(output.standardErrorText)")
        }
        return text
    }
}
