import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Testing
import TestSupport

/// The CNI conformance battery of the other plugins, on swift-ptp: the plugin runs inside a
/// node namespace through the CNISpec runtime, pods are namespaces, host-local runs in process.
@Suite(.serialized) struct ConformanceTests {
    @Test(.privileged, arguments: CNIVersion.all)
    func addCheckDeleteTwice(version: CNIVersion) async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = PTPTestNode(node: node, directory: directory)
            let list = harness.conflist(version: version)
            let attachment = harness.attachment("pod-\(version)", pod: pod)

            let result = try await harness.runtime.add(list, attachment)
            #expect(result.version == version)
            let current = try result.current()
            #expect(current.ips.first?.address.description == "10.66.0.2/24")
            #expect(current.ips.first?.gateway?.description == "10.66.0.1")
            #expect(current.routes.contains { $0.destination.description == "0.0.0.0/0" })
            let host = try #require(try harness.hostEnd(carrying: "10.66.0.1"))
            #expect(host.hasPrefix("veth"))
            if version >= .v0_3_0 {
                #expect(current.interfaces.count == 2)
                #expect(current.interfaces.contains { $0.name == host && $0.sandbox == nil })
                #expect(current.interfaces.contains { $0.name == "eth0" && $0.sandbox == pod.path })
            }
            #expect(try pod.ip(["-o", "-4", "addr", "show", "eth0"]).contains("10.66.0.2/24"))
            let podRoutes = try pod.ip(["route", "show"])
            #expect(podRoutes.contains("default via 10.66.0.1 dev eth0"))
            #expect(podRoutes.contains("10.66.0.1 dev eth0 scope link src 10.66.0.2"))
            #expect(podRoutes.contains("10.66.0.0/24 via 10.66.0.1 dev eth0 src 10.66.0.2"))
            #expect(!podRoutes.contains("10.66.0.0/24 dev eth0"))
            #expect(try pod.ip(["-o", "link", "show", "eth0"]).contains("mtu 1400"))
            #expect(try node.ip(["-o", "link", "show", host]).contains("mtu 1400"))
            #expect(try node.ip(["route", "show"]).contains("10.66.0.2 dev \(host) scope link"))
            #expect(try node.sysctl("net.ipv4.ip_forward") == "1")
            // Node to pod and back over the routed veth (the node answers from the gateway).
            #expect(try node.ping("10.66.0.2"))
            #expect(try pod.ping("10.66.0.1"))
            #expect(harness.reservedAddresses() == ["10.66.0.2"])

            if version.supportsCheck { try await harness.runtime.check(list, attachment) }
            try await harness.runtime.delete(list, attachment)
            #expect(!(try node.ip(["-o", "link", "show"]).contains(host)))
            #expect(!(try pod.ip(["-o", "link", "show"]).contains("eth0")))
            #expect(!(try node.ip(["route", "show"]).contains("10.66.0.2")))
            #expect(harness.reservedAddresses().isEmpty)
            try await harness.runtime.delete(list, attachment)
        }
    }

    /// Any IPAM other than host-local is run from CNI_PATH (here the reference `static`).
    @Test(.privileged, arguments: [CNIVersion.v0_3_1, .v0_4_0, .v1_0_0])
    func delegatedIPAM(version: CNIVersion) async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = PTPTestNode(node: node, directory: directory)
            let list = harness.conflist(
                version: version,
                ipam: [
                    "type": "static", "addresses": [["address": "10.77.0.5/24", "gateway": "10.77.0.1"]],
                    "routes": [["dst": "0.0.0.0/0"]],
                ])
            let attachment = harness.attachment("static-1", pod: pod)
            let current = try await harness.runtime.add(list, attachment).current()
            #expect(current.ips.first?.address.description == "10.77.0.5/24")
            #expect(try pod.ip(["route", "show"]).contains("default via 10.77.0.1 dev eth0"))
            #expect(try harness.hostEnd(carrying: "10.77.0.1") != nil)
            #expect(try node.ping("10.77.0.5"))
            if version.supportsCheck { try await harness.runtime.check(list, attachment) }
            try await harness.runtime.delete(list, attachment)
            #expect(try harness.hostEnd(carrying: "10.77.0.1") == nil)
        }
    }

    @Test(.privileged) func versionAnswersEverySpecVersion() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 1) { namespaces in
            let harness = PTPTestNode(node: namespaces[0], directory: directory)
            try await CNIConformanceBattery.versionAnswersEverySpecVersion(harness.runtime, plugin: "swift-ptp")
        }
    }

    @Test(.privileged) func badInputGetsClearErrors() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = PTPTestNode(node: node, directory: directory)

            var config = harness.pluginConfiguration()
            config["name"] = .string(PTPTestNode.network)
            try CNIConformanceBattery.malformedRequestsGetSpecErrors(configuration: config) { stdin, inPod in
                try harness.runRaw(command: "ADD", stdin: stdin, pod: inPod ? pod : nil)
            }
            #expect(harness.reservedAddresses().isEmpty)

            var noIPAM = harness.pluginConfiguration()
            noIPAM["name"] = .string(PTPTestNode.network)
            noIPAM["cniVersion"] = "1.0.0"
            noIPAM["ipam"] = nil
            let missingIPAM = try harness.runRaw(command: "ADD", stdin: try jsonText(noIPAM), pod: pod)
            #expect(try CNIJSON.decode(CNIError.self, from: missingIPAM.standardOutput).code == .invalidNetworkConfig)

            // The interface name already taken in the pod: rolled back, address released.
            try await CNIConformanceBattery.interfaceClashRollsBack(harness.runtime, harness.conflist(), harness.attachment("p2", pod: pod), pod: pod) {
                try harness.reservedAddresses().isEmpty && harness.hostEnd(carrying: "10.66.0.1") == nil
            }
        }
    }

    @Test(.privileged) func deleteAfterThePodNamespaceIsGone() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = PTPTestNode(node: node, directory: directory)
            try await CNIConformanceBattery.deleteAfterThePodNamespaceIsGone(harness.runtime, harness.conflist(), harness.attachment("gone-1", pod: pod), pod: pod) {
                try harness.reservedAddresses().isEmpty && harness.hostEnd(carrying: "10.66.0.1") == nil
            }
        }
    }

    @Test(.privileged) func checkDetectsARemovedAddressAndRoute() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = PTPTestNode(node: node, directory: directory)
            let list = harness.conflist()
            let attachment = harness.attachment("check-1", pod: pod)
            _ = try await harness.runtime.add(list, attachment)
            try await harness.runtime.check(list, attachment)
            try pod.ip(["route", "del", "default"])
            let routeError = await cniError { try await harness.runtime.check(list, attachment) }
            #expect(routeError?.message.contains("route 0.0.0.0/0 via 10.66.0.1 not found") == true)
            try pod.ip(["addr", "del", "10.66.0.2/24", "dev", "eth0"])
            let error = await cniError { try await harness.runtime.check(list, attachment) }
            #expect(error?.message.contains("address 10.66.0.2/24 not found on eth0") == true)
            try await harness.runtime.delete(list, attachment)
        }
    }

    @Test(.privileged) func statusAndGarbageCollection() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 3) { namespaces in
            let (node, kept, stale) = (namespaces[0], namespaces[1], namespaces[2])
            let harness = PTPTestNode(node: node, directory: directory)
            let list = harness.conflist(version: .v1_1_0)
            try await harness.runtime.status(list)
            _ = try await harness.runtime.add(list, harness.attachment("keep", pod: kept))
            _ = try await harness.runtime.add(list, harness.attachment("stale", pod: stale))
            #expect(harness.reservedAddresses().count == 2)
            try await harness.runtime.garbageCollect(list, validAttachments: [NetworkAttachment(containerID: "keep", interfaceName: "eth0")])
            #expect(harness.reservedAddresses() == ["10.66.0.2"])
            try await harness.runtime.delete(list, harness.attachment("keep", pod: kept))
            try await harness.runtime.delete(list, harness.attachment("stale", pod: stale))
            #expect(harness.reservedAddresses().isEmpty)
        }
    }

    @Test(.privileged) func ipMasqueradeIsSetUpAndRemoved() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = PTPTestNode(node: node, directory: directory)
            let list = harness.conflist(ipMasq: true)
            let attachment = harness.attachment("masq-1", pod: pod)
            _ = try await harness.runtime.add(list, attachment)
            let rules = try node.natRules()
            #expect(rules.contains("-A POSTROUTING -s 10.66.0.2/32"))
            #expect(rules.contains("-d 10.66.0.0/24") && rules.contains("ACCEPT"))
            #expect(rules.contains("! -d 224.0.0.0/4") && rules.contains("MASQUERADE"))
            try await harness.runtime.delete(list, attachment)
            #expect(!(try node.natRules().contains("CNI-")))
            try await harness.runtime.delete(list, attachment)
        }
    }

    /// A ptp conflist works by changing `type`: the reference ptp and swift-ptp, same
    /// configuration, same host-local data directory, give pods the same routes.
    @Test(.privileged) func sameDataPathAsTheReferencePTP() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/ptp"), "the reference ptp is not installed")
        let directory = try TestDirectories.temporary(prefix: "swcni-ptp-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 3) { namespaces in
            let (node, ours, theirs) = (namespaces[0], namespaces[1], namespaces[2])
            let harness = PTPTestNode(node: node, directory: directory)
            let reference = try await harness.runtime.add(harness.conflist(type: "ptp"), harness.attachment("ref-1", pod: theirs)).current()
            let swift = try await harness.runtime.add(harness.conflist(), harness.attachment("ours-1", pod: ours)).current()
            #expect(reference.ips.first?.address.description == "10.66.0.2/24")
            #expect(swift.ips.first?.address.description == "10.66.0.3/24")
            func normalized(_ routes: String, _ address: String) -> [String] {
                routes.replacingOccurrences(of: address, with: "POD").split(separator: "\n").map(String.init).sorted()
            }
            #expect(normalized(try ours.ip(["route", "show"]), "10.66.0.3") == normalized(try theirs.ip(["route", "show"]), "10.66.0.2"))
            #expect(try ours.ping("10.66.0.2"))
            try await harness.runtime.delete(harness.conflist(type: "ptp"), harness.attachment("ref-1", pod: theirs))
            try await harness.runtime.delete(harness.conflist(), harness.attachment("ours-1", pod: ours))
            #expect(harness.reservedAddresses().isEmpty)
        }
    }
}
