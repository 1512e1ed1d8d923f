import ChildProcess
import Datastore
import Foundation
import Lab
import LabProfiles
import NetPrimitives
import Policy
import Testing
import TestSupport

/// `cnilab policy apply|list|delete|explain` driven as a subprocess against one lab with the
/// reference profile; explain checked against the Policy library's `PolicyEvaluator`.
@Suite(.serialized) struct CnilabPolicyCommandTests {
    let executable = LabTestSupport.productsDirectory + "/cnilab"

    struct Run {
        var succeeded: Bool
        var output: String
        var errors: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:] }
    }

    static let policies = LabPolicyDocumentTests.multiDocument + """

        ---
        # A second rule: UDP/80 from namespaces labelled team=blue.
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: blue-udp, namespace: x}
        spec:
          podSelector: {matchLabels: {app: db}}
          ingress:
          - from: [{namespaceSelector: {matchLabels: {team: blue}}}]
            ports: [{port: 80, protocol: UDP}]
        """

    static let replacement = """
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow-web", "namespace": "x"},
         "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{"ports": [{"port": 81, "protocol": "UDP"}]}]}}
        """

    @Test(.privileged) func applyListReplaceDeleteExplain() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let lab = LabTestSupport.uniqueLabName()
        let directory = root + "/lab"
        defer {
            _ = try? Lab.down(name: lab, stateDirectory: directory)
            try? FileManager.default.removeItem(atPath: root)
        }
        func run(_ arguments: String...) throws -> Run {
            let output = try ChildProcess.run(
                executable, arguments: arguments + ["--lab", lab, "--state-dir", directory],
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeoutMilliseconds: 60_000)
            return Run(succeeded: output.status.isSuccess, output: output.standardOutputText, errors: output.standardErrorText)
        }
        func write(_ text: String, _ name: String) throws -> String {
            try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + name))
            return root + "/" + name
        }
        func listed() throws -> [String] {
            let list = try run("policy", "list", "--json")
            #expect(list.succeeded, "\(list.errors)")
            return (list.json["policies"] as? [[String: Any]] ?? []).map { "\($0["kind"]!) \($0["namespace"] as? String ?? "-") \($0["name"]!)" }
        }

        let up = try run("up", "--plugin", "reference", "--nodes", "2", "--stand-in-agent")
        try #require(up.succeeded, "\(up.errors)")
        for (pod, node, label) in [("x/a", "0", "app=web"), ("x/b", "1", "app=db"), ("y/c", "0", "app=web")] {
            let added = try run("pod", "add", pod, "--node", node, "--label", label)
            try #require(added.succeeded, "\(added.errors)")
        }
        #expect(try run("namespace", "label", "y", "team=blue").succeeded)

        // apply: a multi-document YAML file, one key per policy.
        let applied = try run("policy", "apply", try write(Self.policies, "policies.yaml"))
        #expect(applied.succeeded, "\(applied.errors)")
        #expect(applied.output.split(separator: "\n").count == 4)
        let list = try run("policy", "list", "--json")
        let entries = try #require(list.json["policies"] as? [[String: Any]])
        #expect(Set(entries.map { $0.keys.sorted() }) == [["key", "kind", "name", "namespace"]])
        #expect(try listed() == [
            "GlobalNetworkPolicy - deny-81", "CalicoNetworkPolicy y y-only", "NetworkPolicy x allow-web", "NetworkPolicy x blue-udp",
        ])
        let store = try StoreLocation.open("file:" + directory + "/store")
        let stored = try #require(try await store.get("/swiftcni/policies/k8s/x/allow-web"))
        #expect(try PolicySet(parsing: String(decoding: stored.value, as: UTF8.self)).networkPolicies.map(\.name) == ["allow-web"])
        #expect(try await store.get("/swiftcni/policies/calico/global/deny-81") != nil)
        #expect(try await store.get("/swiftcni/policies/calico/y/y-only") != nil)
        await store.close()

        // explain: decisions and deciding rules; every pair agrees with the evaluator.
        let allowed = try run("policy", "explain", "x/a", "x/b", "80/tcp", "--json").json
        let decision = try #require(allowed["decision"] as? [String: Any])
        #expect(decision["allowed"] as? Bool == true)
        #expect(decision["decidingRule"] as? String == "NetworkPolicy x/allow-web ingress rule 0")
        #expect(allowed["from"] as? String == "x/a" && allowed["port"] as? Int == 80 && allowed["protocol"] as? String == "tcp")
        let denied = try run("policy", "explain", "x/a", "x/b", "81/tcp")
        #expect(denied.output.hasPrefix("x/a -> x/b 81/tcp: DENIED"), "\(denied.output)\(denied.errors)")
        #expect(denied.output.contains("GlobalNetworkPolicy deny-81 ingress rule 0"))
        let defaultDeny = try run("policy", "explain", "x/b", "y/c", "80/tcp", "--json").json["decision"] as? [String: Any]
        #expect(defaultDeny?["allowed"] as? Bool == false && defaultDeny?["decidingRule"] is NSNull)
        #expect((defaultDeny?["decidingPolicy"] as? String)?.contains("y-only") == true)
        try await expectAgreement(lab: lab, directory: directory, policies: Self.policies, expectedAllowed: 15)

        // A bad file (good documents, then a bad one) changes nothing; so does a Tier.
        let bad = try run("policy", "apply", try write(Self.replacement + "\n---\nkind: NetworkPolicy\n", "bad.yaml"))
        #expect(!bad.succeeded && bad.errors.contains("document 1"), "\(bad.errors)")
        #expect(!(try run("policy", "apply", root + "/missing.yaml")).succeeded)
        #expect(try listed().count == 4)
        #expect(try run("policy", "explain", "x/a", "x/b", "80/tcp").output.contains("ALLOWED"))

        // Re-applying x/allow-web replaces it (here from standard input).
        let stdin = try ChildProcess.run(
            executable, arguments: ["policy", "apply", "-", "--lab", lab, "--state-dir", directory],
            environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], standardInput: Array(Self.replacement.utf8), timeoutMilliseconds: 60_000)
        #expect(stdin.status.isSuccess && stdin.standardOutputText == "NetworkPolicy x/allow-web applied\n", "\(stdin.standardErrorText)")
        #expect(try listed().count == 4)
        #expect(try run("policy", "explain", "x/a", "x/b", "80/tcp").output.contains("DENIED"))
        let replaced = Self.policies.replacingOccurrences(
            of: "  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 80, protocol: TCP}, {port: \"serve-81-udp\", protocol: UDP}]",
            with: "  - ports: [{port: 81, protocol: UDP}]")
        #expect(replaced != Self.policies)
        try await expectAgreement(lab: lab, directory: directory, policies: replaced, expectedAllowed: nil)

        // delete: namespaced and global; unknown names fail.
        #expect(try run("policy", "delete", "x/allow-web").output == "NetworkPolicy x/allow-web deleted\n")
        #expect(try run("policy", "delete", "--global", "deny-81").output == "GlobalNetworkPolicy deny-81 deleted\n")
        let missing = try run("policy", "delete", "x/allow-web")
        #expect(!missing.succeeded && missing.errors.contains("no policy x/allow-web"))
        #expect(!(try run("policy", "delete", "--global", "nope")).succeeded)
        #expect(!(try run("policy", "delete", "x/a", "--global", "g")).succeeded)
        #expect(try listed() == ["CalicoNetworkPolicy y y-only", "NetworkPolicy x blue-udp"])
        // Values another tool stored with another layout below the prefix (a GlobalNetworkPolicy
        // and a Tier) are read too: listed, explained and deleted under their own keys.
        let other = try StoreLocation.open("file:" + directory + "/store")
        try await other.put("/swiftcni/policies/calico-global/_cluster/deny-db", string: #"{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"deny-db"},"spec":{"selector":"app == 'db'","tier":"platform","ingress":[{"action":"Deny"}]}}"#)
        try await other.put("/swiftcni/policies/tiers/_cluster/platform", string: #"{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"platform"},"spec":{"order":50}}"#)
        await other.close()
        #expect(try listed() == ["GlobalNetworkPolicy - deny-db", "CalicoNetworkPolicy y y-only", "NetworkPolicy x blue-udp"])
        let tiered = try run("policy", "explain", "y/c", "x/b", "80/udp")
        #expect(tiered.output.contains("DENIED") && tiered.output.contains("GlobalNetworkPolicy deny-db ingress rule 0"), "\(tiered.output)\(tiered.errors)")
        #expect(try run("policy", "delete", "--global", "deny-db").succeeded)
        #expect(try run("policy", "explain", "y/c", "x/b", "80/udp").output.contains("ALLOWED"))
        #expect(!(try run("policy", "explain", "x/a", "x/zz", "80/tcp")).succeeded)
        #expect(!(try run("policy", "explain", "x/a", "x/b", "80/icmp")).succeeded)
    }

    /// Every pod pair × {80, 81} × {tcp, udp}: the lab's explain equals a `PolicyEvaluator`
    /// built here from the same documents and the pods `cnilab pod list --json` shows.
    func expectAgreement(lab: String, directory: String, policies text: String, expectedAllowed: Int?) async throws {
        let opened = try Lab.open(name: lab, stateDirectory: directory, profiles: LabProfiles.all)
        let pods = await opened.pods()
        let namespaceLabels = await opened.namespaceLabels()
        let endpoints = pods.map { pod in
            Endpoint(
                namespace: pod.namespace, name: pod.name, addresses: [IPAddress(pod.address ?? "")].compactMap { $0 },
                labels: pod.labels, namespaceLabels: namespaceLabels[pod.namespace] ?? [:],
                namedPorts: Lab.podServerPorts)
        }
        let evaluator = PolicyEvaluator(policies: try PolicySet(parsing: text), cluster: try ClusterState(endpoints: endpoints))
        var allowedCount = 0
        for from in pods {
            for to in pods where to != from {
                for port in [UInt16(80), 81] {
                    for transport in [TransportProtocol.tcp, .udp] {
                        let lab = try await opened.explainPolicy(
                            from: try PodReference(parsing: from.qualifiedName), to: try PodReference(parsing: to.qualifiedName),
                            port: port, protocol: transport)
                        let reference = try evaluator.explain(
                            Packet(from: .pod(from.namespace, from.name), to: .pod(to.namespace, to.name), protocol: transport, port: port))
                        #expect(lab.isAllowed == reference.isAllowed, "\(from.qualifiedName) -> \(to.qualifiedName) \(port)/\(transport)")
                        #expect(lab.decidingRule == reference.decidingRule?.description)
                        if lab.isAllowed { allowedCount += 1 }
                    }
                }
            }
        }
        if let expectedAllowed { #expect(allowedCount == expectedAllowed) }
    }
}
