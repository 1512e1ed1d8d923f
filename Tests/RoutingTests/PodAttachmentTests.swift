import CNISpec
import Namespaces
import Netlink
import NetPrimitives
import Routing
import Testing
import TestSupport

@Suite struct PodInterfaceNamingTests {
    @Test func hostNamesAreStableUniqueAndValid() {
        let first = PodInterfaceNaming.hostInterfaceName(containerID: "abc", interfaceName: "eth0")
        #expect(first == PodInterfaceNaming.hostInterfaceName(containerID: "abc", interfaceName: "eth0"))
        #expect(first.value.hasPrefix("veth") && first.value.utf8.count == 12)
        #expect(first != PodInterfaceNaming.hostInterfaceName(containerID: "abc", interfaceName: "eth1"))
        #expect(first != PodInterfaceNaming.hostInterfaceName(containerID: "abd", interfaceName: "eth0"))
        let names = Set((0..<2000).map { PodInterfaceNaming.hostInterfaceName(containerID: "pod-\($0)", interfaceName: "eth0") })
        #expect(names.count == 2000)
        let calico = PodInterfaceNaming.hostInterfaceName(containerID: "abc", interfaceName: "eth0", prefix: "cali")
        #expect(calico.value.hasPrefix("cali") && calico.value.dropFirst(4) == first.value.dropFirst(4))
        #expect(PodInterfaceNaming.hostInterfaceName(containerID: "x", interfaceName: "y", prefix: "toolongprefix").value.utf8.count == 15)
    }
}

/// The pod attachment on the kernel: a node namespace and pod namespaces.
@Suite(.serialized) struct PodAttachmentTests {
    static let subnetGateway = try! IPNetwork(parsing: "10.30.0.1/24")

    func attachBridged(_ id: String, node: NetlinkHandle, pod: NetworkNamespace, podHandle: NetlinkHandle, address: String) throws -> (PodAttachment, CNIResult) {
        try BridgeAttachment.ensure(BridgeConfiguration(name: "br-test", mtu: 1400, gatewayAddresses: [Self.subnetGateway]), host: node)
        let attachment = PodAttachment(
            containerID: id, interfaceName: "eth0", podNamespace: pod, mtu: 1400, bridge: "br-test", hairpin: true)
        let links = try attachment.create(host: node, pod: podHandle)
        let result = CNIResult(
            interfaces: [
                .init(name: links.host.name, mac: links.host.macAddress),
                .init(name: "eth0", mac: links.container.macAddress, sandbox: pod.path),
            ],
            ips: [.init(address: try IPNetwork(parsing: address), gateway: Self.subnetGateway.address, interface: 1)],
            routes: [CNIRoute(destination: try IPNetwork(parsing: "10.30.0.0/16"))])
        try PodAddressing.apply(result, interface: "eth0", pod: podHandle)
        return (attachment, result)
    }

    @Test(.privileged) func bridgedAttachmentIsCreatedCheckedAndRemoved() throws {
        try NamespaceFixture.withBlocking(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            let (attachment, result) = try attachBridged("c1", node: nodeHandle, pod: pod, podHandle: podHandle, address: "10.30.0.5/24")

            let bridge = try nodeHandle.link(named: "br-test")
            #expect(bridge.kind == .bridge && bridge.isUp)
            #expect(try nodeHandle.addresses(family: .v4, device: "br-test").map(\.network) == [Self.subnetGateway])
            #expect(try nodeHandle.sysctl("net.ipv4.ip_forward") == "1")
            let hostEnd = try nodeHandle.link(named: attachment.hostInterface)
            #expect(hostEnd.masterIndex == bridge.index && hostEnd.isUp && hostEnd.mtu == 1400 && hostEnd.isHairpin == true)
            let podEnd = try podHandle.link(named: "eth0")
            #expect(podEnd.isUp && podEnd.mtu == 1400)
            // Nothing named eth0 ever appears on the host.
            #expect(try nodeHandle.linkIfPresent(named: "eth0") == nil)
            #expect(try podHandle.addresses(device: "eth0").map(\.network).contains(try IPNetwork(parsing: "10.30.0.5/24")))
            let route = try #require(try podHandle.routes(family: .v4).first { $0.destination == (try? IPNetwork(parsing: "10.30.0.0/16")) })
            #expect(route.gateway == Self.subnetGateway.address)

            // Idempotent: ensuring the bridge and applying the result again change nothing.
            try BridgeAttachment.ensure(BridgeConfiguration(name: "br-test", gatewayAddresses: [Self.subnetGateway]), host: nodeHandle)
            try PodAddressing.apply(result, interface: "eth0", pod: podHandle)

            try CheckValidation.validatePod(result, interface: "eth0", pod: podHandle)
            try CheckValidation.validateHost(hostInterface: attachment.hostInterface, bridge: "br-test", host: nodeHandle)

            #expect(try attachment.remove(host: nodeHandle))
            #expect(try podHandle.linkIfPresent(named: "eth0") == nil)
            #expect(try !attachment.remove(host: nodeHandle))
        }
    }

    @Test(.privileged) func checkReportsEachDifferencePrecisely() throws {
        try NamespaceFixture.withBlocking(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            let (attachment, result) = try attachBridged("c2", node: nodeHandle, pod: pod, podHandle: podHandle, address: "10.30.0.6/24")
            func failure(_ result: CNIResult) -> String? {
                do {
                    try CheckValidation.validatePod(result, interface: "eth0", pod: podHandle)
                    return nil
                } catch { return error.message }
            }
            var wrongMAC = result
            wrongMAC.interfaces[1].mac = MACAddress("02:00:00:00:00:01")
            #expect(failure(wrongMAC)?.contains("has MAC") == true)
            var extraRoute = result
            extraRoute.routes.append(CNIRoute(destination: try IPNetwork(parsing: "192.168.0.0/16"), gateway: Self.subnetGateway.address))
            #expect(failure(extraRoute) == "route 192.168.0.0/16 via 10.30.0.1 not found in \(pod)")
            var noSandbox = result
            noSandbox.interfaces[1].sandbox = nil
            #expect(failure(noSandbox)?.contains("no interface eth0") == true)
            try podHandle.deleteAddress(Address(try IPNetwork(parsing: "10.30.0.6/24")), device: "eth0")
            #expect(failure(result) == "address 10.30.0.6/24 not found on eth0 in \(pod)")

            try nodeHandle.removeMaster(of: attachment.hostInterface)
            #expect(throws: CNIError.self) {
                try CheckValidation.validateHost(hostInterface: attachment.hostInterface, bridge: "br-test", host: nodeHandle)
            }
            try attachment.remove(host: nodeHandle)
            #expect(failure(result)?.contains("not found") == true)
            #expect(throws: CNIError.self) {
                try CheckValidation.validateHost(hostInterface: attachment.hostInterface, bridge: nil, host: nodeHandle)
            }
        }
    }

    @Test(.privileged) func aTakenInterfaceNameFailsCleanlyAndABridgeNameClashIsReported() throws {
        try NamespaceFixture.withBlocking(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            try podHandle.addLink(.veth("eth0", peer: "spare0"))
            let attachment = PodAttachment(containerID: "c3", interfaceName: "eth0", podNamespace: pod)
            #expect(throws: CNIError.self) { try attachment.create(host: nodeHandle, pod: podHandle) }
            #expect(try nodeHandle.linkIfPresent(named: attachment.hostInterface) == nil)

            try nodeHandle.addLink(.veth("notabridge", peer: "peer0"))
            do {
                try BridgeAttachment.ensure(BridgeConfiguration(name: "notabridge"), host: nodeHandle)
                Issue.record("expected a failure")
            } catch {
                #expect("\(error)".contains("is not a bridge"))
            }
        }
    }

    @Test(.privileged) func routedAttachmentReachesThePodThroughProxyARP() throws {
        try NamespaceFixture.withBlocking(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            let veth = PodAttachment(
                containerID: "r1", interfaceName: "eth0", podNamespace: pod,
                hostInterface: PodInterfaceNaming.hostInterfaceName(containerID: "r1", interfaceName: "eth0", prefix: "cali"))
            let routed = PodRoutedAttachment(
                veth: veth, addresses: [try IPNetwork(parsing: "10.65.0.7/32")], hostRouteProtocol: Netlink.Route.ProtocolTag(rawValue: 92),
                hostMACAddress: MACAddress.calicoHost)
            let links = try routed.create(host: nodeHandle, pod: podHandle)
            #expect(links.host.macAddress == MACAddress.calicoHost)
            #expect(try nodeHandle.sysctl("net/ipv4/conf/\(veth.hostInterface)/proxy_arp") == "1")
            let hostRoutes = try nodeHandle.routes(family: .v4, protocolTag: Netlink.Route.ProtocolTag(rawValue: 92))
            #expect(hostRoutes.map(\.destination) == [try IPNetwork(parsing: "10.65.0.7/32")])
            let result = routed.result(links: links, sandbox: pod.path)
            try CheckValidation.validatePod(result, interface: "eth0", pod: podHandle)
            // The pod's default route resolves 169.254.1.1 by proxy ARP (the node answers for
            // addresses it routes elsewhere and only when it forwards, as a real node does).
            try nodeHandle.setIPForwarding(true)
            try nodeHandle.addLink(LinkSpecification(name: "uplink0", kind: .veth(peer: VethPeer(name: "uplink1")), isUp: true))
            try nodeHandle.setLinkUp("uplink1")
            try nodeHandle.addRoute(Netlink.Route(destination: try IPNetwork(parsing: "0.0.0.0/0"), device: "uplink0"))
            try nodeHandle.addAddress(Address(try IPNetwork(parsing: "10.65.255.1/32")), device: veth.hostInterface)
            let ping = try pod.runProcess("/usr/bin/ping", arguments: ["-c", "1", "-W", "1", "10.65.255.1"], timeoutMilliseconds: 5_000)
            #expect(ping.status == .exited(0))
            try routed.remove(host: nodeHandle)
            #expect(try nodeHandle.routes(family: .v4, protocolTag: Netlink.Route.ProtocolTag(rawValue: 92)).isEmpty)
        }
    }
}
