import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// The capabilities swift-calico honours: `mac` and `dns` itself, `ips` through its delegated
/// host-local IPAM and with the in-process block IPAM.
@Suite(.serialized) struct CalicoCapabilityTests {
    @Test(.privileged) func macIPsAndDNS() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = CalicoTestNode(node: node, directory: directory)
            var calico = harness.pluginConfiguration()
            calico["capabilities"] = ["mac": true, "ips": true, "dns": true]
            let list = NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [calico])
            let attachment = RuntimeAttachment(
                containerID: "caps-1", networkNamespace: pod.path, interfaceName: "eth0",
                capabilityArguments: [
                    "mac": "0a:58:0a:41:00:2a", "ips": ["10.65.0.42"],
                    "dns": ["servers": ["10.96.0.10"], "searches": ["svc.cluster.local"]],
                ])
            let result = try await harness.runtime.add(list, attachment).current()
            #expect(result.ips.first?.address.address.description == "10.65.0.42", "\(result.ips)")
            #expect(try pod.ip(["-o", "link", "show", "eth0"]).contains("0a:58:0a:41:00:2a"))
            #expect(result.dns.nameservers == ["10.96.0.10"] && result.dns.search == ["svc.cluster.local"])
            try await harness.runtime.delete(list, attachment)
            #expect(harness.reservedAddresses().isEmpty)

            // Block IPAM: the requested address is taken (its block claimed for this node).
            var blocks = harness.pluginConfiguration(blocks: true)
            blocks["capabilities"] = ["ips": true]
            let blockList = NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [blocks])
            let requested = RuntimeAttachment(
                containerID: "caps-2", networkNamespace: pod.path, interfaceName: "eth0", capabilityArguments: ["ips": ["10.244.0.9"]])
            let blockResult = try await harness.runtime.add(blockList, requested).current()
            #expect(blockResult.ips.first?.address.address.description == "10.244.0.9", "\(blockResult.ips)")
            try await harness.runtime.delete(blockList, requested)
            #expect(!(try pod.ip(["-o", "link", "show"]).contains("eth0")))
        }
    }
}
