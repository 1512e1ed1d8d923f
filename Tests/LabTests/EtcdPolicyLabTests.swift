import Foundation
import Lab
import LabProfiles
import Namespaces
import Testing
import TestSupport

/// Policies with `--store etcd`: the same keys in a real etcd, read back by `policies()` and
/// used by `explainPolicy`.
@Suite(.serialized) struct EtcdPolicyLabTests {
    @Test(.privileged) func policiesLiveInEtcd() async throws {
        let root = try LabTestSupport.temporaryDirectory()
        let name = LabTestSupport.uniqueLabName()
        defer {
            _ = try? Lab.down(name: name, stateDirectory: root + "/lab")
            try? FileManager.default.removeItem(atPath: root)
        }
        let lab = try await Lab.up(LabConfiguration(name: name, stateDirectory: root + "/lab", profile: .reference(agent: nil), nodeCount: 1, store: .etcd))
        try await lab.addPod(try PodReference(parsing: "x/a"), node: 0, labels: ["app": "web"])
        try await lab.addPod(try PodReference(parsing: "x/b"), node: 0, labels: ["app": "db"])
        let applied = try await lab.applyPolicies(LabPolicyDocumentTests.multiDocument)
        #expect(applied.count == 3)
        let keys = try EtcdStoreLabTests().etcdKeys(name)
        for policy in applied { #expect(keys[policy.key] == policy.document) }
        #expect(try await lab.policies() == applied.sorted { $0.key < $1.key })

        let a = try PodReference(parsing: "x/a")
        let b = try PodReference(parsing: "x/b")
        let web = try await lab.explainPolicy(from: a, to: b, port: 80, protocol: .tcp)
        #expect(web.isAllowed && web.decidingRule == "NetworkPolicy x/allow-web ingress rule 0")
        let denied = try await lab.explainPolicy(from: a, to: b, port: 81, protocol: .tcp)
        #expect(!denied.isAllowed && denied.decidingPolicy == "GlobalNetworkPolicy deny-81")

        try await lab.deleteGlobalPolicy(name: "deny-81")
        try await lab.deletePolicy(namespace: "x", name: "allow-web")
        #expect(try await lab.policies().map(\.qualifiedName) == ["y/y-only"])
        let open = try await lab.explainPolicy(from: a, to: b, port: 81, protocol: .tcp)
        #expect(open.isAllowed && open.decidingPolicy == nil && open.decidingRule == nil)
        await #expect(throws: LabError.self) { try await lab.deletePolicy(namespace: "x", name: "allow-web") }
        try await lab.down()
    }
}
