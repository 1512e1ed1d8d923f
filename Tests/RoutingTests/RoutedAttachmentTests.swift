import CNISpec
import Namespaces
import Netlink
import NetPrimitives
import Routing
import Testing
import TestSupport

/// Calico's routed attachment on the kernel: a node namespace and pod namespaces.
@Suite(.serialized) struct RoutedAttachmentTests {
    static let hostRoutes = Netlink.Route.ProtocolTag(rawValue: 92)

    static func routed(_ id: String, pod: NetworkNamespace, addresses: [String], mtu: Int? = 1440) throws -> PodRoutedAttachment {
        let veth = PodAttachment(
            containerID: id, interfaceName: "eth0", podNamespace: pod, mtu: mtu,
            hostInterface: PodInterfaceNaming.hostInterfaceName(containerID: id, interfaceName: "eth0", prefix: "cali"))
        return PodRoutedAttachment(
            veth: veth, addresses: try addresses.map { try IPNetwork(parsing: $0) }, hostRouteProtocol: hostRoutes,
            hostMACAddress: .calicoHost)
    }

    /// The host end is born with its MAC and MTU: the kernel never reports it with other values
    /// (a later `ip link set address` would show the random MAC first).
    @Test(.privileged) func macAndMTUAreSetByTheCreateRequest() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            let routed = try Self.routed("m1", pod: pod, addresses: ["10.65.0.9/32"])
            let hostName = routed.veth.hostInterface.value
            let events = try nodeHandle.events([.links])
            let links = try routed.create(host: nodeHandle, pod: podHandle)
            #expect(links.host.macAddress == .calicoHost && links.host.mtu == 1440 && links.host.isUp)
            #expect(links.container.mtu == 1440 && links.container.isUp)
            try routed.remove(host: nodeHandle)
            var reported: [Link] = []
            for try await event in events {
                if case .linkChanged(let link) = event, link.name == hostName { reported.append(link) }
                if case .linkRemoved(let link) = event, link.name == hostName { break }
            }
            #expect(!reported.isEmpty)
            for link in reported {
                #expect(link.macAddress == .calicoHost, "host end reported with MAC \(link.macAddress.map { "\($0)" } ?? "none")")
                #expect(link.mtu == 1440)
            }
        }
    }

    /// The pod reaches its gateway through the permanent neighbour entry alone: proxy ARP off,
    /// no forwarding, no route for 169.254.1.1 on the node.
    @Test(.privileged) func thePodNeedsNoProxyARPForItsGateway() throws {
        try NamespaceFixture.withBlocking(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            let routed = try Self.routed("n1", pod: pod, addresses: ["10.65.0.7/32"])
            let host = routed.veth.hostInterface
            _ = try routed.create(host: nodeHandle, pod: podHandle)

            let neighbors = try podHandle.neighbors(family: .ipv4, device: "eth0")
            let gateway = try #require(neighbors.first { $0.address == PodRoutedAttachment.gateway })
            #expect(gateway.macAddress == .calicoHost && gateway.state.contains(.permanent))
            #expect(try nodeHandle.sysctl("net/ipv4/conf/\(host)/proxy_arp") == "1")
            #expect(try nodeHandle.sysctl("net/ipv4/neigh/\(host)/proxy_delay") == "0")
            // Forwarding is the node's business, not the attachment's.
            #expect(try nodeHandle.sysctl("net.ipv4.ip_forward") == "0")

            try nodeHandle.setProxyARP(false, device: host)
            try nodeHandle.addAddress(Address(try IPNetwork(parsing: "10.65.255.1/32")), device: host)
            let ping = try pod.runProcess("/usr/bin/ping", arguments: ["-c", "1", "-W", "1", "10.65.255.1"], timeoutMilliseconds: 5_000)
            #expect(ping.status == .exited(0))
            try routed.remove(host: nodeHandle)
        }
    }

    @Test(.privileged) func validateReportsEachMissingPiece() throws {
        try NamespaceFixture.withBlocking(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            let routed = try Self.routed("v1", pod: pod, addresses: ["10.65.0.8/32"])
            let host = routed.veth.hostInterface
            _ = try routed.create(host: nodeHandle, pod: podHandle)
            func failure() -> String? {
                do {
                    try routed.validate(host: nodeHandle, pod: podHandle)
                    return nil
                } catch { return error.message }
            }
            #expect(failure() == nil)

            let defaultRoute = Netlink.Route(
                destination: try IPNetwork(parsing: "0.0.0.0/0"), gateway: PodRoutedAttachment.gateway, device: "eth0")
            try podHandle.deleteRoute(defaultRoute)
            #expect(failure() == "default route via 169.254.1.1 not found in \(pod)")
            try podHandle.addRoute(defaultRoute)
            #expect(failure() == nil)

            let hostRoute = Netlink.Route(
                destination: try IPNetwork(parsing: "10.65.0.8/32"), device: host, protocolTag: Self.hostRoutes, scope: .link)
            try nodeHandle.deleteRoute(hostRoute)
            #expect(failure() == "host route 10.65.0.8/32 dev \(host) not found in \(node)")
            try nodeHandle.addRoute(hostRoute)
            #expect(failure() == nil)

            try podHandle.deleteAddress(Address(try IPNetwork(parsing: "10.65.0.8/32")), device: "eth0")
            #expect(failure() == "address 10.65.0.8/32 not found on eth0 in \(pod)")

            try nodeHandle.setLinkDown(host)
            #expect(failure() == "host interface \(host) is down")
            try routed.remove(host: nodeHandle)
            #expect(failure() == "host interface \(host) not found")
        }
    }

    /// A failing step after the veth exists removes it again: no link, no host route.
    @Test(.privileged) func aFailedCreateLeavesNothingBehind() throws {
        try NamespaceFixture.withBlocking(count: 2) { namespaces in
            let (node, pod) = (namespaces[0], namespaces[1])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let podHandle = try NetlinkHandle(namespace: pod)
            // The second, identical address fails (EEXIST) after the pair, the first address
            // and the host-side settings are in place.
            let routed = try Self.routed("f1", pod: pod, addresses: ["10.65.0.5/32", "10.65.0.5/32"])
            do {
                _ = try routed.create(host: nodeHandle, pod: podHandle)
                Issue.record("expected a failure")
            } catch {
                #expect((error as? CNIError)?.message.contains("failed to set up the routed attachment \(routed.veth.hostInterface)") == true)
            }
            #expect(try nodeHandle.linkIfPresent(named: routed.veth.hostInterface) == nil)
            #expect(try podHandle.linkIfPresent(named: "eth0") == nil)
            #expect(try nodeHandle.routes(family: .v4, protocolTag: Self.hostRoutes).isEmpty)
        }
    }

    /// A retried ADD meets old state: the same host end name in use by a stale pair (towards
    /// another pod namespace) and a host route for the address through another device. Both
    /// are replaced.
    @Test(.privileged) func aRetryReplacesAStaleHostEndAndHostRoute() throws {
        try NamespaceFixture.withBlocking(count: 3) { namespaces in
            let (node, oldPod, pod) = (namespaces[0], namespaces[1], namespaces[2])
            let nodeHandle = try NetlinkHandle(namespace: node)
            let oldPodHandle = try NetlinkHandle(namespace: oldPod)
            let podHandle = try NetlinkHandle(namespace: pod)
            _ = try Self.routed("s1", pod: oldPod, addresses: ["10.65.0.3/32"]).create(host: nodeHandle, pod: oldPodHandle)
            try nodeHandle.addLink(LinkSpecification(name: "other0", kind: .veth(peer: VethPeer(name: "other1")), isUp: true))
            try nodeHandle.addRoute(
                Netlink.Route(destination: try IPNetwork(parsing: "10.65.0.4/32"), device: "other0", protocolTag: Self.hostRoutes, scope: .link))

            let routed = try Self.routed("s1", pod: pod, addresses: ["10.65.0.4/32"])
            let links = try routed.create(host: nodeHandle, pod: podHandle)
            #expect(links.host.macAddress == .calicoHost)
            #expect(try oldPodHandle.linkIfPresent(named: "eth0") == nil)
            let hostRoutes = try nodeHandle.routes(family: .v4, protocolTag: Self.hostRoutes)
            #expect(hostRoutes.map(\.destination) == [try IPNetwork(parsing: "10.65.0.4/32")])
            #expect(hostRoutes.first?.nextHops.first?.device == routed.veth.hostInterface)
            try routed.validate(host: nodeHandle, pod: podHandle)
            try routed.remove(host: nodeHandle)
        }
    }
}
