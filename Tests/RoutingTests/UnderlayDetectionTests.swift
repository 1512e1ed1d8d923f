import Namespaces
import NetPrimitives
import Netlink
import TestSupport
import Testing

@testable import Routing

/// Underlay autodetection: Calico's methods and flannel's options on interfaces with several
/// addresses each, planned without root; then on veths in a namespace, read from the kernel.
@Suite("Underlay autodetection: planning")
struct UnderlayDetectionPlanTests {
    /// lo, docker0 (excluded by name), eth0 with a link-local, a primary and a secondary
    /// address of one subnet and an address of a second subnet, eth1 with two subnets, the
    /// default route via eth1 and a more specific one via eth0.
    let inventory = UnderlayInventory(
        interfaces: [
            UnderlayInterface(index: 1, name: "lo", mtu: 65_536, addresses: ["127.0.0.1/8", "::1/128"]),
            UnderlayInterface(index: 2, name: "docker0", mtu: 1_500, addresses: ["172.17.0.1/16"]),
            UnderlayInterface(index: 3, name: "eth0", mtu: 1_500, addresses: ["169.254.3.3/16", "192.168.10.5/24", "192.168.10.6/24", "10.1.0.5/16", "fd00:10::5/64"]),
            UnderlayInterface(index: 4, name: "eth1", mtu: 9_000, addresses: ["172.30.0.9/24", "172.31.0.9/24", "fd00:20::9/64"]),
        ],
        routes: [
            UnderlayRoute(destination: "0.0.0.0/0", interfaceIndex: 4, gateway: "172.31.0.1"),
            UnderlayRoute(destination: "0.0.0.0/0", interfaceIndex: 3, gateway: "192.168.10.1", metric: 100),
            UnderlayRoute(destination: "192.168.10.0/24", interfaceIndex: 3),
            UnderlayRoute(destination: "10.1.0.0/16", interfaceIndex: 3),
            UnderlayRoute(destination: "10.9.0.0/16", interfaceIndex: 3, gateway: "10.1.0.1", source: "192.168.10.6"),
            UnderlayRoute(destination: "172.30.0.0/24", interfaceIndex: 4),
            UnderlayRoute(destination: "172.31.0.0/24", interfaceIndex: 4),
            UnderlayRoute(destination: "::/0", interfaceIndex: 4, gateway: "fd00:20::1"),
        ])

    func calico(_ method: String, _ family: IPAddress.Family = .v4) throws -> UnderlayChoice {
        try UnderlayDetection(calicoMethod: method).choose(in: inventory, family: family)
    }

    @Test func calicoFirstFoundSkipsExcludedInterfacesLoopbackAndLinkLocal() throws {
        let choice = try calico("first-found")
        #expect(choice.interface == "eth0" && choice.address == "192.168.10.5/24" && choice.publicAddress == "192.168.10.5")
        #expect(try calico("").address == "192.168.10.5/24")
        #expect(try calico("first-found", .v6).address == "fd00:10::5/64")
        #expect(try calico("skip-interface=eth0").address == "172.30.0.9/24")
    }

    @Test func calicoInterfaceRegexCanReachAndCidr() throws {
        #expect(try calico("interface=eth1").address == "172.30.0.9/24")
        #expect(try calico("interface=^bond.*,eth[1-9]").interface == "eth1")
        // Unanchored, as Go's regexp: "th0" matches eth0.
        #expect(try calico("interface=th0").interface == "eth0")
        // can-reach: the source of the route the kernel would take, per address of the node.
        #expect(try calico("can-reach=172.31.0.77").address == "172.31.0.9/24")
        #expect(try calico("can-reach=8.8.8.8").address == "172.31.0.9/24")
        #expect(try calico("can-reach=10.1.7.7").address == "10.1.0.5/16")
        #expect(try calico("can-reach=10.9.1.1").address == "192.168.10.6/24")
        #expect(try calico("can-reach=192.168.10.200").address == "192.168.10.5/24")
        // cidr: the first address inside, a secondary one too; never on an excluded interface.
        #expect(try calico("cidr=10.0.0.0/8").address == "10.1.0.5/16")
        #expect(try calico("cidr=172.31.0.0/16,10.200.0.0/16").address == "172.31.0.9/24")
        #expect(throws: NetlinkError.self) { try calico("cidr=172.17.0.0/16") }
    }

    @Test func calicoMethodsThatDoNotParseOrFindNothing() {
        for bad in ["nonsense", "interface=", "interface=(", "can-reach=example.com", "cidr=10.0.0.0", "kubernetes-internal-ip"] {
            #expect(throws: NetlinkError.self, "\(bad)") { try UnderlayDetection(calicoMethod: bad) }
        }
        #expect { try calico("interface=wlan.*") } throws: { error in
            "\(error)".contains("wlan") && "\(error)".contains("eth1 172.30.0.9/24")
        }
    }

    @Test func flannelIfaceByNameOrAddressThenRegexThenCanReachThenDefaultRoute() throws {
        func flannel(_ options: FlannelInterfaceOptions, _ family: IPAddress.Family = .v4) throws -> UnderlayChoice {
            try UnderlayDetection.flannel(options).choose(in: inventory, family: family)
        }
        // The default route's interface (the lower metric), its source for the gateway's subnet.
        #expect(try flannel(FlannelInterfaceOptions()).address == "172.31.0.9/24")
        #expect(try flannel(FlannelInterfaceOptions(), .v6).address == "fd00:20::9/64")
        #expect(try flannel(FlannelInterfaceOptions(interfaces: ["eth0"])).address == "192.168.10.5/24")
        // --iface by address: that very address, a secondary one too.
        #expect(try flannel(FlannelInterfaceOptions(interfaces: ["192.168.10.6"])).address == "192.168.10.6/24")
        // The first --iface found wins; missing ones are skipped.
        #expect(try flannel(FlannelInterfaceOptions(interfaces: ["bond0", "eth1", "eth0"])).interface == "eth1")
        // --iface-regex on names, then on addresses (picking the matching one of several).
        #expect(try flannel(FlannelInterfaceOptions(regexes: ["^eth1$"])).address == "172.30.0.9/24")
        #expect(try flannel(FlannelInterfaceOptions(regexes: ["^172\\.31\\."])).address == "172.31.0.9/24")
        #expect(try flannel(FlannelInterfaceOptions(interfaces: ["bond0"], regexes: ["^10\\."])).address == "10.1.0.5/16")
        #expect(throws: NetlinkError.self) { try flannel(FlannelInterfaceOptions(interfaces: ["bond0"], canReach: "10.1.7.7")) }
        #expect(try flannel(FlannelInterfaceOptions(canReach: "10.1.7.7")).address == "10.1.0.5/16")
        // --public-ip: announced as given; alone, it picks the interface holding it.
        let nat = try flannel(FlannelInterfaceOptions(interfaces: ["eth0"], publicIP: "203.0.113.7"))
        #expect(nat.interface == "eth0" && nat.address == "192.168.10.5/24" && nat.publicAddress == "203.0.113.7")
        let held = try flannel(FlannelInterfaceOptions(publicIP: "10.1.0.5"))
        #expect(held.interface == "eth0" && held.publicAddress == "10.1.0.5" && held.address == "10.1.0.5/16")
    }

    @Test func podMTUIsTheInterfaceMTUMinusTheEncapsulation() throws {
        let eth1 = try calico("interface=eth1")
        #expect(eth1.podMTU(.none) == 9_000 && eth1.podMTU(.vxlan) == 8_950 && eth1.podMTU(.ipip) == 8_980 && eth1.podMTU(.wireguard) == 8_940)
        #expect(try calico("first-found", .v6).podMTU(.vxlan) == 1_430)
    }
}

@Suite("Underlay autodetection: on veths in a namespace")
struct UnderlayDetectionKernelTests {
    @Test(.privileged) func chosenFromTheKernelsInterfacesAddressesAndRoutes() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let node = try NetlinkHandle(namespace: namespaces[0])
            try node.setLinkUp("lo")
            // Two veths to the peer namespace (MTU 1500 and 9000), two subnets on the first
            // (a primary and a secondary address in one), one on the second; a dummy-like
            // excluded name (docker0, also a veth here) first in index order.
            try node.addLink(.veth("docker0", peer: "d0", peerNamespace: namespaces[1]))
            try node.addLink(.veth("ens3", peer: "p3", peerNamespace: namespaces[1], mtu: 1_500))
            try node.addLink(.veth("ens4", peer: "p4", peerNamespace: namespaces[1], mtu: 9_000))
            for (address, device) in [("172.17.0.1/16", "docker0"), ("192.168.60.5/24", "ens3"), ("192.168.60.6/24", "ens3"),
                                      ("10.60.0.5/16", "ens3"), ("172.16.60.9/24", "ens4")] {
                try node.addAddress(Address(try IPNetwork(parsing: address)), device: try InterfaceName(device))
            }
            for device in ["docker0", "ens3", "ens4"] { try node.setLinkUp(try InterfaceName(device)) }
            try node.replaceRoute(Route(destination: "0.0.0.0/0", gateway: "172.16.60.1", device: "ens4"))
            let inventory = try UnderlayInventory.read(node)
            #expect(inventory.interfaces.map(\.name).contains("docker0"))
            let ens3 = try #require(inventory.interfaces.first { $0.name == "ens3" })
            // The kernel lists primaries before secondaries.
            #expect(ens3.addresses.first == "192.168.60.5/24" && Set(ens3.addresses) == ["192.168.60.5/24", "192.168.60.6/24", "10.60.0.5/16"], "\(ens3.addresses)")

            let first = try UnderlayDetection(calicoMethod: "first-found").choose(in: inventory)
            #expect(first.interface == "ens3" && first.address == "192.168.60.5/24" && first.mtu == 1_500)
            #expect(try UnderlayDetection(calicoMethod: "cidr=10.60.0.0/16").choose(in: inventory).address == "10.60.0.5/16")
            #expect(try UnderlayDetection(calicoMethod: "can-reach=10.60.9.9").choose(in: inventory).address == "10.60.0.5/16")
            let reach = try UnderlayDetection(calicoMethod: "can-reach=8.8.8.8").choose(in: inventory)
            #expect(reach.interface == "ens4" && reach.podMTU(.vxlan) == 8_950)
            let flannel = try UnderlayDetection.flannel(FlannelInterfaceOptions(regexes: ["^192\\.168\\.60\\.6$"])).choose(in: inventory)
            #expect(flannel.interface == "ens3" && flannel.address == "192.168.60.6/24" && flannel.podMTU(.vxlan) == 1_450)
            #expect(try UnderlayDetection.flannel(FlannelInterfaceOptions()).choose(in: inventory).interface == "ens4")
        }
    }
}
