import Datastore
import Foundation
import Namespaces
import Testing
import TestSupport

/// swift-calico-node enforces the store's policies for its node's pods (PolicyAgent): two
/// nodes, web on node-1, client and other on node-2; a Calico GlobalNetworkPolicy written to
/// `/swiftcni/policies/calico/global/web` denies other, and relabelling other allows it.
@Suite(.serialized) struct CalicoPolicyTests {
    static let policy = """
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: web}
        spec:
          selector: app == 'web'
          types: [Ingress]
          ingress: [{action: Allow, source: {selector: app == 'client'}}]
        """

    @Test(.privileged) func nodeAgentEnforcesStoredPolicy() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 6) { namespaces in
            let cluster = try CalicoCluster(fabric: namespaces[0], nodes: Array(namespaces[1...2]), directory: directory)
            defer { cluster.stopAll() }
            let (web, client, other) = (namespaces[3], namespaces[4], namespaces[5])
            let webAddress = try await cluster.addPod(web, node: 0, id: "web")
            _ = try await cluster.addPod(client, node: 1, id: "client")
            _ = try await cluster.addPod(other, node: 1, id: "other")
            for index in 0..<2 { try cluster.startAgent(index) }
            for index in 0..<2 {
                let learned = try await eventually(within: 15) { try cluster.bgpRoutes(index).count == 1 }
                #expect(learned, "node \(index + 1): \(cluster.agentLog(index))")
            }
            // Without Kubernetes arguments the plugin's records are `/swiftcni/pods/_/<containerID>`.
            let store = try FileDatastore(directory: cluster.harnesses[0].storeDirectory, pollIntervalMilliseconds: 20)
            for (name, app) in [("web", "web"), ("client", "client"), ("other", "other")] {
                try await store.put("/swiftcni/labels/pod/_/\(name)", string: #"{"app":"\#(app)"}"#)
            }
            #expect(try await eventually(within: 10) { try client.ping(webAddress) }, "client -> web without policy")
            #expect(try await eventually(within: 5) { try other.ping(webAddress) }, "other -> web without policy")

            try await store.put("/swiftcni/policies/calico/global/web", string: Self.policy)
            #expect(try await eventually(within: 8) { try !other.ping(webAddress) }, "policy: other -> web denied")
            #expect(try await eventually(within: 5) { try client.ping(webAddress) }, "policy: client -> web allowed")

            try await store.put("/swiftcni/labels/pod/_/other", string: #"{"app":"client"}"#)
            #expect(try await eventually(within: 8) { try other.ping(webAddress) }, "other relabelled -> web allowed")
            #expect(try cluster.nodes[0].ip(["-o", "link"]).isEmpty == false)
            let table = try cluster.nodes[0].runProcess("/usr/sbin/nft", arguments: ["list", "table", "inet", "swiftcni_policy"])
            #expect(table.status.isSuccess, "\(cluster.agentLog(0))")
            await store.close()
        }
    }
}
