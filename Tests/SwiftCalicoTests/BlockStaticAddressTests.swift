import CNISpec
import Datastore
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// Static addresses with the block-affinity IPAM (calico-ipam): `IP=` in `CNI_ARGS` and the
/// `ips` capability take the address in its block (claimed for the node when nobody has it),
/// a taken one is a clear error with nothing left behind, DEL releases it.
@Suite(.serialized) struct BlockStaticAddressTests {
    @Test(.privileged) func requestedAddressesInBlockMode() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 4) { namespaces in
            let (node, first, second, third) = (namespaces[0], namespaces[1], namespaces[2], namespaces[3])
            let harness = CalicoTestNode(node: node, directory: directory)
            var plugin = harness.pluginConfiguration(blocks: true)
            plugin["capabilities"] = ["ips": true]
            let list = NetworkConfigurationList(cniVersion: "1.0.0", name: "k8s-pod-network", plugins: [plugin])
            let store = try StoreLocation.open("file:" + harness.storeDirectory)

            var byArgument = harness.attachment("by-arg", pod: first)
            byArgument.arguments = CNIArguments([.init(key: "IP", value: "10.244.0.77")])
            let argument = try await harness.runtime.add(list, byArgument).current()
            #expect(argument.ips.map(\.address.description) == ["10.244.0.77/32"])
            let block = try #require(try await store.get(KeyLayout.block("10.244.0.64/26")))
            #expect(block.string.contains("\"affinity\":\"node-1\"") && block.string.contains("\"13\":\"k8s-pod-network.by-arg\""), "\(block.string)")
            #expect(try await store.get(KeyLayout.affinity(node: "node-1", block: "10.244.0.64/26")) != nil)

            var byCapability = harness.attachment("by-capability", pod: second)
            byCapability.capabilityArguments = ["ips": ["10.244.0.78/32"]]
            let capability = try await harness.runtime.add(list, byCapability).current()
            #expect(capability.ips.map(\.address.description) == ["10.244.0.78/32"])

            var taken = harness.attachment("taken", pod: third)
            taken.arguments = CNIArguments([.init(key: "IP", value: "10.244.0.77")])
            let error = await cniError { _ = try await harness.runtime.add(list, taken) }
            #expect(error?.message.contains("10.244.0.77") == true, "\(String(describing: error))")
            #expect(try await store.get(KeyLayout.handle("k8s-pod-network.taken")) == nil)
            #expect(!(try node.ip(["-o", "link", "show"]).contains(calicoHostInterface(containerID: "taken"))))

            try await harness.runtime.delete(list, byArgument)
            try await harness.runtime.delete(list, byCapability)
            try await harness.runtime.delete(list, taken)
            #expect(try await store.list(prefix: KeyLayout.blocks).items.isEmpty)
        }
    }
}
