import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Routing
import Testing
import TestSupport

/// Two attachments on one pod (Multus style: network `cbr0` on `eth0`, a second flannel network
/// with its own bridge and subnet on `net1`): each gets its own host veth and reservation, both
/// answer, and each DEL removes only its own (link, address, reservation, cached result).
@Suite(.serialized) struct MultipleAttachmentTests {
    @Test(.privileged) func twoAttachmentsOnOnePod() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = harness.conflist()
            // The second network: its own bridge and subnet.env, as a second flannel network.
            let secondSubnetFile = directory + "/second.env"
            try "FLANNEL_NETWORK=10.245.0.0/16\nFLANNEL_SUBNET=10.245.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n"
                .write(toFile: secondSubnetFile, atomically: true, encoding: .utf8)
            let secondList = NetworkConfigurationList(cniVersion: "1.0.0", name: "second", plugins: [[
                "type": "swift-flannel", "subnetFile": .string(secondSubnetFile), "dataDir": .string(harness.dataDirectory),
                "delegate": ["bridge": "cni1"],
            ]])
            let main = RuntimeAttachment(containerID: "multi", networkNamespace: pod.path, interfaceName: "eth0")
            let second = RuntimeAttachment(containerID: "multi", networkNamespace: pod.path, interfaceName: "net1")
            let first = try #require(try await harness.runtime.add(list, main).current().ips.first?.address.address)
            let other = try #require(try await harness.runtime.add(secondList, second).current().ips.first?.address.address)
            #expect("\(first)" == "10.244.1.2" && "\(other)" == "10.245.1.2")
            #expect(try pod.ip(["-o", "-4", "addr", "show", "net1"]).contains("\(other)/24"))
            #expect(harness.reservedAddresses() == ["\(first)"])
            #expect(HostLocalFiles.reservedAddresses(dataDirectory: harness.dataDirectory, network: "second") == ["\(other)"])
            let hostMain = PodInterfaceNaming.hostInterfaceName(containerID: "multi", interfaceName: "eth0").value
            let hostSecond = PodInterfaceNaming.hostInterfaceName(containerID: "multi", interfaceName: "net1").value
            #expect(hostMain != hostSecond)
            #expect(try node.ping(first) && node.ping(other))

            // The second's DEL leaves the first alone.
            try await harness.runtime.delete(secondList, second)
            let links = try node.ip(["-o", "link", "show"])
            #expect(links.contains(hostMain) && !links.contains(hostSecond))
            #expect(!(try pod.ip(["-o", "link", "show"]).contains("net1")))
            #expect(harness.reservedAddresses() == ["\(first)"])
            #expect(HostLocalFiles.reservedAddresses(dataDirectory: harness.dataDirectory, network: "second").isEmpty)
            #expect(try node.ping(first))
            #expect(harness.runtime.cache.entries(containerID: "multi").map(\.interfaceName) == ["eth0"])

            try await harness.runtime.delete(list, main)
            #expect(harness.reservedAddresses().isEmpty)
            #expect(!(try node.ip(["-o", "link", "show"]).contains(hostMain)))
        }
    }
}
