import CNISpec
import Foundation
import Namespaces
import Testing
import TestSupport

/// swift-calico-node works out the pod MTU from its underlay interface (minus the
/// encapsulation, none for routed pools) and publishes it with its readiness, as Calico's node
/// writes `/var/lib/calico/mtu`; swift-calico gives pods that MTU when its configuration names
/// none, and a configured `mtu` still wins.
@Suite(.serialized) struct CalicoPodMTUTests {
    @Test(.privileged) func podsTakeTheAgentsMTUUnlessConfigured() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 4) { namespaces in
            let cluster = try CalicoCluster(fabric: namespaces[0], nodes: [namespaces[1]], directory: directory)
            defer { cluster.stopAll() }
            try cluster.fabric.ip(["link", "set", "f0", "mtu", "1400"])
            try cluster.nodes[0].ip(["link", "set", "eth0", "mtu", "1400"])
            try cluster.startAgent(0)
            let harness = cluster.harnesses[0]
            let published = try await eventually(within: 30) {
                (try? AgentReadiness.read(path: harness.readinessFile))??.podMTU == 1400
            }
            #expect(published, "\(String(describing: try? AgentReadiness.read(path: harness.readinessFile)))\n\(cluster.agentLog(0))")

            _ = try await cluster.addPod(namespaces[2], node: 0, id: "mtu-1")
            #expect(try namespaces[2].ip(["-o", "link", "show", "eth0"]).contains("mtu 1400"))

            var configured = harness.pluginConfiguration(blocks: true)
            configured["mtu"] = 1300
            let list = NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [configured])
            _ = try await harness.runtime.add(list, harness.attachment("mtu-2", pod: namespaces[3]))
            #expect(try namespaces[3].ip(["-o", "link", "show", "eth0"]).contains("mtu 1300"))
        }
    }
}
