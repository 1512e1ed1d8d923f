import CNISpec
import Namespaces
import Netlink
import NetPrimitives
import Routing
import Testing
import TestSupport

/// The plugin glue in Routing: request checks with one set of CNI codes, the calico preset of
/// the routed attachment, the node's underlay.
@Suite struct PluginGlueTests {
    static func request(interface: InterfaceName? = "eth0", netns: String = "") -> PluginRequest {
        PluginRequest(command: .add, containerID: "c1", networkNamespace: netns, interfaceName: interface, configurationBytes: [], version: .latest)
    }

    @Test func requestChecksAreInvalidEnvironmentVariables() throws {
        #expect(throws: CNIError.self) { try Self.request(interface: nil).requiredInterfaceName() }
        for netns in ["", "/nonexistent/swcni-netns"] {
            do throws(CNIError) {
                _ = try Self.request(netns: netns).podNamespace()
                Issue.record("opened \(netns)")
            } catch {
                #expect(error.code == .invalidEnvironmentVariables, "\(error)")
            }
        }
        #expect(try Self.request().requiredInterfaceName() == "eth0")
    }

    @Test func calicoPresetIsCalicosDataPath() throws {
        let veth = PodAttachment(containerID: "c1", interfaceName: "eth0", podNamespace: try NetworkNamespace.current(), hostInterface: "cali0123456789a")
        let routed = PodRoutedAttachment.calico(veth: veth, addresses: [try IPNetwork(parsing: "10.65.0.7/32")])
        #expect(routed.hostMACAddress == .calicoHost && routed.hostRouteProtocol.rawValue == 92)
        #expect(routed.veth.bridge == nil)
    }

    @Test(.privileged) func underlayIsTheFirstGlobalIPv4AddressOffLoopback() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.setLinkUp("lo")
            #expect(try NodeUnderlay.detect(handle) == nil)
            try handle.addLink(.veth("uplink0", peer: "uplink0", peerNamespace: namespaces[1]))
            try handle.addAddress(Address(try IPNetwork(parsing: "192.168.51.11/24")), device: "uplink0")
            try handle.setLinkUp("uplink0")
            let underlay = try #require(try NodeUnderlay.detect(handle))
            #expect(underlay.interface == "uplink0" && underlay.address == IPNetwork("192.168.51.11/24"))
            #expect(underlay.ipv4Address == IPv4Address("192.168.51.11"))
            #expect(try NodeUnderlay.addresses(of: "uplink0", handle) == [try IPAddress(parsing: "192.168.51.11")])
        }
    }
}
