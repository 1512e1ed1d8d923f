import CNISpec
import Datastore
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// Two attachments on one pod (Multus style: network `k8s-pod-network` on `eth0`, a second
/// swift-calico network on `net1`, same pod name in CNI_ARGS): host ends, pod records and IPAM
/// handles are per attachment, both answer, and each DEL removes only its own.
@Suite(.serialized) struct CalicoMultipleAttachmentTests {
    @Test(.privileged) func twoAttachmentsOnOnePod() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-calico-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = CalicoTestNode(node: node, directory: directory)
            // The node needs an address of its own to ping from (the routed veths have none).
            try node.ip(["link", "set", "lo", "up"])
            try node.ip(["addr", "add", "192.168.99.1/32", "dev", "lo"])
            let list = harness.conflist(blocks: true)
            let secondList = NetworkConfigurationList(
                cniVersion: list.cniVersion, name: "second-network", plugins: [harness.pluginConfiguration(blocks: true)])
            let arguments = CNIArguments([.init(key: "K8S_POD_NAMESPACE", value: "multi"), .init(key: "K8S_POD_NAME", value: "pod")])
            let main = RuntimeAttachment(containerID: "multi-1", networkNamespace: pod.path, interfaceName: "eth0", arguments: arguments)
            let second = RuntimeAttachment(containerID: "multi-1", networkNamespace: pod.path, interfaceName: "net1", arguments: arguments)
            let first = try #require(try await harness.runtime.add(list, main).current().ips.first?.address.address)
            let other = try #require(try await harness.runtime.add(secondList, second).current().ips.first?.address.address)
            #expect(first != other)
            #expect(try pod.ip(["-o", "-4", "addr", "show", "net1"]).contains("\(other)/32"))
            // The first attachment keeps the pod's default route.
            #expect(try pod.ip(["route", "show", "default"]).contains("dev eth0"))

            let store = try StoreLocation.open("file:" + harness.storeDirectory)
            let mainRecord = try #require(try await store.get(KeyLayout.pod(namespace: "multi", name: "pod")))
            let secondRecord = try #require(try await store.get(KeyLayout.pod(namespace: "multi", name: "pod:net1")))
            let mainHost = try #require(try PodRecord(decoding: mainRecord.value, key: "main").hostInterface)
            let secondHost = try #require(try PodRecord(decoding: secondRecord.value, key: "second").hostInterface)
            #expect(mainHost != secondHost)
            #expect(try node.ping(first) && node.ping(other))

            // The second's DEL leaves the first alone: link, record, IPAM handle.
            try await harness.runtime.delete(secondList, second)
            let links = try node.ip(["-o", "link", "show"])
            #expect(links.contains(mainHost) && !links.contains(secondHost))
            #expect(try await store.get(KeyLayout.pod(namespace: "multi", name: "pod")) != nil)
            #expect(try await store.get(KeyLayout.pod(namespace: "multi", name: "pod:net1")) == nil)
            #expect(try await store.get(KeyLayout.handle("k8s-pod-network.multi-1")) != nil)
            #expect(try await store.get(KeyLayout.handle("second-network.multi-1")) == nil)
            #expect(try node.ping(first))
            #expect(try pod.ip(["route", "show", "default"]).contains("dev eth0"))

            try await harness.runtime.delete(list, main)
            #expect(try await store.get(KeyLayout.pod(namespace: "multi", name: "pod")) == nil)
            #expect(try await store.get(KeyLayout.handle("k8s-pod-network.multi-1")) == nil)
            #expect(!(try node.ip(["-o", "link", "show"]).contains(mainHost)))
        }
    }
}
