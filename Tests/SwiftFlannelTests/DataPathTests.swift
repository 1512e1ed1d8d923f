import CNISpec
import Foundation
import Namespaces
import NetPrimitives
import Routing
import Testing
import TestSupport

/// The host end's name of an attachment with interface eth0.
enum PodInterfaceNamingName {
    static func host(_ containerID: String) -> String {
        PodInterfaceNaming.hostInterfaceName(containerID: containerID, interfaceName: "eth0").value
    }
}

/// Pods networked by swift-flannel carry traffic; many ADDs at once; chaining with portmap.
@Suite(.serialized) struct DataPathTests {
    @Test(.privileged) func twentyParallelAddsGetUniqueReachableAddresses() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 21) { namespaces in
            let node = namespaces[0]
            let pods = Array(namespaces.dropFirst())
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = harness.conflist()
            let addresses = try await withThrowingTaskGroup(of: IPAddress.self) { group in
                for (index, pod) in pods.enumerated() {
                    group.addTask {
                        let result = try await harness.runtime.add(list, harness.attachment("par-\(index)", pod: pod))
                        return try #require(try result.current().ips.first?.address.address)
                    }
                }
                return try await group.reduce(into: [IPAddress]()) { $0.append($1) }
            }
            #expect(addresses.count == 20)
            #expect(Set(addresses).count == 20)
            #expect(harness.reservedAddresses().count == 20)
            for address in addresses {
                #expect(try node.ping(address, waitSeconds: 2), "\(address) unreachable from the node")
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, pod) in pods.enumerated() {
                    group.addTask { try await harness.runtime.delete(list, harness.attachment("par-\(index)", pod: pod)) }
                }
                try await group.waitForAll()
            }
            #expect(harness.reservedAddresses().isEmpty)
        }
    }

    @Test(.privileged) func twoPodsOnTheNodeReachEachOther() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 3) { namespaces in
            let (node, first, second) = (namespaces[0], namespaces[1], namespaces[2])
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = harness.conflist()
            let a = try await harness.runtime.add(list, harness.attachment("pod-a", pod: first)).current()
            let b = try await harness.runtime.add(list, harness.attachment("pod-b", pod: second)).current()
            let addressA = try #require(a.ips.first?.address.address)
            let addressB = try #require(b.ips.first?.address.address)
            #expect(try first.ping(addressB, waitSeconds: 2))
            #expect(try second.ping(addressA, waitSeconds: 2))
            // The gateway answers too, and after DEL the peer is gone.
            #expect(try first.ping(try #require(IPAddress("10.244.1.1")), waitSeconds: 2))
            try await harness.runtime.delete(list, harness.attachment("pod-b", pod: second))
            #expect(!(try first.ping(addressB, waitSeconds: 2)))
            try await harness.runtime.delete(list, harness.attachment("pod-a", pod: first))
        }
    }

    @Test(.privileged) func defaultGatewayGivesThePodADefaultRoute() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = NetworkConfigurationList(
                cniVersion: "1.0.0", name: "cbr0", plugins: [harness.pluginConfiguration(defaultGateway: true)])
            let result = try await harness.runtime.add(list, harness.attachment("gw-1", pod: pod)).current()
            #expect(result.routes.contains { $0.destination == IPNetwork("0.0.0.0/0") && $0.gateway == IPAddress("10.244.1.1") })
            #expect(try pod.ip(["route", "show"]).contains("default via 10.244.1.1 dev eth0"))
            try await harness.runtime.check(list, harness.attachment("gw-1", pod: pod))
            try await harness.runtime.delete(list, harness.attachment("gw-1", pod: pod))
        }
    }

    @Test(.privileged) func chainedAfterAnotherPluginKeepsItsResult() async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = NetworkConfigurationList(
                cniVersion: "1.0.0", name: "cbr0", plugins: [["type": "loopback"], harness.pluginConfiguration()])
            let attachment = harness.attachment("chain-1", pod: pod)
            let result = try await harness.runtime.add(list, attachment).current()
            #expect(result.interfaces.map(\.name) == ["lo", "cni0", PodInterfaceNamingName.host("chain-1"), "eth0"])
            let ours = try #require(result.ips.first { $0.address.description == "10.244.1.2/24" })
            #expect(ours.interface == 3)
            try await harness.runtime.check(list, attachment)
            try await harness.runtime.delete(list, attachment)
            #expect(harness.reservedAddresses().isEmpty)
        }
    }

    @Test(.privileged, arguments: [CNIVersion.v0_4_0, .v1_0_0])
    func chainedWithTheReferencePortmap(version: CNIVersion) async throws {
        let directory = try TestDirectories.temporary(prefix: "swcni-flannel-")
        defer { TestDirectories.remove(directory) }
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let harness = try FlannelTestNode(node: node, directory: directory)
            let list = harness.conflist(version: version, withPortmap: true)
            let mappings: JSONValue = [["hostPort": 18080, "containerPort": 80, "protocol": "tcp"]]
            let attachment = harness.attachment("pm-1", pod: pod, portMappings: mappings)
            let result = try await harness.runtime.add(list, attachment).current()
            #expect(result.ips.first?.address.description == "10.244.1.2/24")
            let rules = try node.runProcess("/usr/sbin/iptables", arguments: ["-t", "nat", "-S"], timeoutMilliseconds: 10_000)
            #expect(rules.standardOutputText.contains("--dport 18080"))
            #expect(rules.standardOutputText.contains("10.244.1.2:80"))
            // portmap 1.1.1 cannot CHECK an IPv4-only result with port mappings
            // (containernetworking/plugins#819): exactly that failure, swift-flannel's CHECK passed before it.
            let error = await cniError { try await harness.runtime.check(list, attachment) }
            #expect(error?.message.contains("could not check ipv6 dnat") == true)
            try await harness.runtime.delete(list, attachment)
            let after = try node.runProcess("/usr/sbin/iptables", arguments: ["-t", "nat", "-S"], timeoutMilliseconds: 10_000)
            #expect(!after.standardOutputText.contains("--dport 18080"))
            #expect(harness.reservedAddresses().isEmpty)
        }
    }
}
