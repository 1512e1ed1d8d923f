import CNISpec
import Namespaces
import Testing
import TestSupport

/// The capabilities swift-ptp honours when its configuration declares them: `mac` and `dns`
/// itself, `ips` through its IPAM (host-local picks the requested address); any other declared
/// capability is refused with code 2 before anything is created.
@Suite(.serialized) struct PTPCapabilityTests {
    @Test(.privileged) func macIPsAndDNSAreHonouredAndPortMappingsRefused() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = PTPTestNode(node: node, directory: directory)
            var ptp = harness.pluginConfiguration()
            ptp["capabilities"] = ["mac": true, "ips": true, "dns": true]
            let list = NetworkConfigurationList(cniVersion: "1.0.0", name: PTPTestNode.network, plugins: [ptp])
            let attachment = RuntimeAttachment(
                containerID: "caps-1", networkNamespace: pod.path, interfaceName: "eth0",
                capabilityArguments: [
                    "mac": "0a:58:0a:42:00:2a", "ips": ["10.66.0.42"],
                    "dns": ["servers": ["10.96.0.10"], "searches": ["svc.cluster.local"]],
                ])
            let result = try await harness.runtime.add(list, attachment).current()
            #expect(result.ips.first?.address.address.description == "10.66.0.42", "\(result.ips)")
            #expect(try pod.ip(["-o", "link", "show", "eth0"]).contains("0a:58:0a:42:00:2a"))
            #expect(result.dns.nameservers == ["10.96.0.10"] && result.dns.search == ["svc.cluster.local"])
            #expect(harness.reservedAddresses() == ["10.66.0.42"])
            try await harness.runtime.delete(list, attachment)
            #expect(harness.reservedAddresses().isEmpty)

            // A capability swift-ptp does not honour: code 2 naming the plugin to chain, and
            // nothing created.
            var mapped = harness.pluginConfiguration()
            mapped["capabilities"] = ["portMappings": true]
            let mappedList = NetworkConfigurationList(cniVersion: "1.0.0", name: PTPTestNode.network, plugins: [mapped])
            let ports = RuntimeAttachment(
                containerID: "caps-2", networkNamespace: pod.path, interfaceName: "eth0",
                capabilityArguments: ["portMappings": [["hostPort": 8080, "containerPort": 80, "protocol": "tcp"]]])
            let refused = await cniError { _ = try await harness.runtime.add(mappedList, ports) }
            #expect(refused?.code == .unsupportedField && refused?.message.contains("portmap") == true, "\(String(describing: refused))")
            #expect(harness.reservedAddresses().isEmpty)
            #expect(!(try pod.ip(["-o", "link", "show"]).contains("eth0")))

            // A malformed MAC: code 7, nothing created.
            let badMAC = RuntimeAttachment(
                containerID: "caps-3", networkNamespace: pod.path, interfaceName: "eth0", capabilityArguments: ["mac": "not-a-mac"])
            let malformed = await cniError { _ = try await harness.runtime.add(list, badMAC) }
            #expect(malformed?.code == .invalidNetworkConfig, "\(String(describing: malformed))")
            #expect(harness.reservedAddresses().isEmpty)
        }
    }
}
