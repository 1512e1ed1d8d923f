import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Routing
import Testing
import TestSupport

/// The CNI specification's conformance battery for swift-flannel: the plugin runs inside a
/// node namespace through the CNISpec runtime, pods are namespaces.
@Suite(.serialized) struct ConformanceTests {
    @Test(.privileged, arguments: CNIVersion.all)
    func addCheckDeleteTwice(version: CNIVersion) async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = harness.conflist(version: version)
            let attachment = harness.attachment("pod-\(version)", pod: pod)

            let result = try await harness.runtime.add(list, attachment)
            #expect(result.version == version)
            let current = try result.current()
            let address = try #require(current.ips.first?.address)
            #expect(address.description == "10.244.1.2/24")
            #expect(current.ips.first?.gateway == IPAddress("10.244.1.1"))
            #expect(current.routes.contains { $0.destination == IPNetwork("10.244.0.0/16") })
            if version >= .v0_3_0 {
                #expect(current.interfaces.map(\.name).first == "cni0")
                #expect(current.interfaces.contains { $0.name == "eth0" && $0.sandbox == pod.path })
            }
            #expect(try pod.ip(["-o", "-4", "addr", "show", "eth0"]).contains("10.244.1.2/24"))
            #expect(try pod.ip(["route", "show"]).contains("10.244.0.0/16 via 10.244.1.1 dev eth0"))
            #expect(try pod.ip(["-o", "link", "show", "eth0"]).contains("mtu 1450"))
            #expect(try node.ip(["-o", "-4", "addr", "show", "cni0"]).contains("10.244.1.1/24"))
            let hostInterface = PodInterfaceNaming.hostInterfaceName(containerID: attachment.containerID, interfaceName: "eth0")
            let hostLink = try node.ip(["-d", "-o", "link", "show", hostInterface.value])
            #expect(hostLink.contains("master cni0") && hostLink.contains("hairpin on"))
            #expect(harness.reservedAddresses() == ["10.244.1.2"])

            if version.supportsCheck {
                try await harness.runtime.check(list, attachment)
            }
            try await harness.runtime.delete(list, attachment)
            #expect(!(try node.ip(["-o", "link", "show"]).contains(hostInterface.value)))
            #expect(!(try pod.ip(["-o", "link", "show"]).contains("eth0")))
            #expect(harness.reservedAddresses().isEmpty)
            // DEL is idempotent.
            try await harness.runtime.delete(list, attachment)
        }
    }

    @Test(.privileged) func versionAnswersEverySpecVersion() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 1) { namespaces in
            let harness = try FlannelTestNode(node: namespaces[0], directory: directory)
            try await CNIConformanceBattery.versionAnswersEverySpecVersion(harness.runtime, plugin: "swift-flannel")
        }
    }

    @Test(.privileged) func badInputGetsClearErrors() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory, writeSubnetFile: false)

            // CHECK needs 0.4.0 or later.
            var oldConfig = harness.pluginConfiguration()
            oldConfig["cniVersion"] = "0.3.1"
            oldConfig["name"] = "cbr0"
            let oldCheck = try harness.runRaw(command: "CHECK", stdin: String(decoding: try CNIJSON.encode(JSONValue.object(oldConfig)), as: UTF8.self), pod: pod)
            #expect(try CNIJSON.decode(CNIError.self, from: oldCheck.standardOutput).code == .incompatibleVersion)

            // No subnet.env yet (flanneld not running): try again later, nothing created.
            let missing = await cniError { _ = try await harness.runtime.add(harness.conflist(), harness.attachment("p1", pod: pod)) }
            #expect(missing?.code == .tryAgainLater)
            #expect(missing?.message.contains("subnet.env") == true)
            #expect(!(try node.ip(["-o", "link", "show"]).contains("cni0")))
            #expect(!(try pod.ip(["-o", "link", "show"]).contains("eth0")))

            // DEL of an attachment that never existed, without subnet.env or address store: success.
            try await harness.runtime.delete(harness.conflist(), harness.attachment("never", pod: pod))

            // A missing pod namespace: a clear error, the address is not kept.
            try "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n".write(toFile: harness.subnetFile, atomically: true, encoding: .utf8)
            var config = harness.pluginConfiguration()
            config["name"] = "cbr0"
            try CNIConformanceBattery.malformedRequestsGetSpecErrors(configuration: config) { stdin, inPod in
                try harness.runRaw(command: "ADD", stdin: stdin, pod: inPod ? pod : nil)
            }
            #expect(harness.reservedAddresses().isEmpty)

            // An interface name already taken in the pod: rolled back, address released.
            try await CNIConformanceBattery.interfaceClashRollsBack(harness.runtime, harness.conflist(), harness.attachment("p2", pod: pod), pod: pod) {
                try harness.reservedAddresses().isEmpty && !node.ip(["-o", "link", "show"]).contains("veth")
            }
        }
    }

    @Test(.privileged) func deleteAfterThePodNamespaceIsGone() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            try await CNIConformanceBattery.deleteAfterThePodNamespaceIsGone(harness.runtime, harness.conflist(), harness.attachment("gone-1", pod: pod), pod: pod) {
                try harness.reservedAddresses().isEmpty && !node.ip(["-o", "link", "show"]).contains("veth")
            }
        }
    }

    @Test(.privileged) func checkDetectsARemovedAddress() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            try await CNIConformanceBattery.checkDetectsARemovedAddress(
                harness.runtime, harness.conflist(), harness.attachment("check-1", pod: pod), pod: pod, address: "10.244.1.2/24")
        }
    }

    @Test(.privileged) func statusAndGarbageCollection() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 3) { namespaces in
            let (node, kept, stale) = (namespaces[0], namespaces[1], namespaces[2])
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = harness.conflist(version: .v1_1_0)
            // No agent: 50. This process stands in for swift-flanneld (its readiness record).
            #expect(await cniError { try await harness.runtime.status(list) }?.code == .pluginNotAvailable)
            let readiness = harness.subnetFile + ".ready"
            var record = try AgentReadiness.current(agent: "swift-flanneld", ready: false, detail: "waiting for the network configuration")
            try record.publish(to: readiness)
            let waiting = await cniError { try await harness.runtime.status(list) }
            #expect(waiting?.code == .pluginNotAvailable && waiting?.message.contains("waiting for the network configuration") == true)
            record.ready = true
            try record.publish(to: readiness)
            try await harness.runtime.status(list)
            _ = try await harness.runtime.add(list, harness.attachment("keep", pod: kept))
            _ = try await harness.runtime.add(list, harness.attachment("stale", pod: stale))
            #expect(harness.reservedAddresses().count == 2)
            // The runtime would DEL the stale attachment from its cache first (as libcni does);
            // without that entry, only the plugin's own GC can clean it up, which is tested here.
            harness.runtime.cache.remove(network: list.name, attachment: NetworkAttachment(containerID: "stale", interfaceName: "eth0"))
            try await harness.runtime.garbageCollect(list, validAttachments: [NetworkAttachment(containerID: "keep", interfaceName: "eth0")])
            #expect(harness.reservedAddresses() == ["10.244.1.2"])
            let staleHost = PodInterfaceNaming.hostInterfaceName(containerID: "stale", interfaceName: "eth0")
            #expect(!(try node.ip(["-o", "link", "show"]).contains(staleHost.value)))
            try FileManager.default.removeItem(atPath: harness.subnetFile)
            let error = await cniError { try await harness.runtime.status(list) }
            #expect(error?.code == .pluginNotAvailable)
            // A record naming a process that is gone (another start time) is stale.
            var gone = record
            gone.startTime += 1
            try gone.publish(to: readiness)
            let dead = await cniError { try await harness.runtime.status(list) }
            #expect(dead?.code == .pluginNotAvailable && dead?.message.contains("no longer running") == true, "\(String(describing: dead))")
            record.withdraw(from: readiness)
            #expect(!FileManager.default.fileExists(atPath: readiness + ".tmp"))
        }
    }
}
