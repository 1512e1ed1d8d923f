import Testing
import NetPrimitives
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct IPNetworkTests {
    @Test func parsesAndKeepsHostBits() throws {
        let network = try IPNetwork(parsing: "10.244.1.5/24")
        #expect(network.address == "10.244.1.5")
        #expect(network.prefixLength == 24)
        #expect(network.network.description == "10.244.1.0/24")
        #expect(network.netmask == "255.255.255.0")
        #expect(network.lastAddress == "10.244.1.255")
        #expect(network.addressCount == 256)
        #expect(try IPNetwork(parsing: "fd00::5/64").network.description == "fd00::/64")
    }

    @Test(arguments: ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08", "10.0.0.0/", "/24", "fd00::/129",
                      "10.0.0.0/24/1", "10.0.0.0/ 24", "x/24"])
    func rejectsGarbage(_ text: String) {
        #expect(throws: NetPrimitivesError.self) { try IPNetwork(parsing: text) }
    }

    @Test func containsAndOverlaps() throws {
        let cluster: IPNetwork = "10.244.0.0/16"
        #expect(cluster.contains(IPAddress("10.244.200.1")))
        #expect(!cluster.contains(IPAddress("10.245.0.1")))
        #expect(!cluster.contains(IPAddress("fd00::1")))
        #expect(cluster.contains(IPNetwork("10.244.3.0/24")))
        #expect(!IPNetwork("10.244.3.0/24").contains(cluster))
        #expect(cluster.overlaps("10.244.3.0/24") && IPNetwork("10.244.3.0/24").overlaps(cluster))
        #expect(!IPNetwork("10.0.0.0/24").overlaps("10.0.1.0/24"))
        #expect(IPNetwork("0.0.0.0/0").contains(IPAddress("1.2.3.4")))
        #expect(IPNetwork("::/0").contains(IPAddress("fd00::1")))
    }

    @Test func subnettingAndIteration() throws {
        let cluster: IPNetwork = "10.244.0.0/16"
        let subnets = Array(try cluster.subnets(prefixLength: 24))
        #expect(subnets.count == 256)
        #expect(subnets[1].description == "10.244.1.0/24")
        #expect(subnets.last?.description == "10.244.255.0/24")
        #expect(cluster.subnet(prefixLength: 26, index: 5)?.description == "10.244.1.64/26")
        #expect(cluster.subnet(prefixLength: 24, index: 256) == nil)
        #expect(throws: NetPrimitivesError.self) { try cluster.subnets(prefixLength: 8) }
        let small: IPNetwork = "192.168.1.4/30"
        #expect(Array(small.addresses).map(\.description) == ["192.168.1.4", "192.168.1.5", "192.168.1.6", "192.168.1.7"])
        #expect(small.nthHost(1) == "192.168.1.5")
        #expect(small.address(at: 4) == nil)
        #expect(small.offset(of: "192.168.1.6") == 2)
        #expect(Array(IPNetwork("10.0.0.1/32").addresses) == ["10.0.0.1"])
        #expect(Array(try IPNetwork("fd00::/126").subnets(prefixLength: 127)).map(\.description) == ["fd00::/127", "fd00::2/127"])
        #expect(IPNetwork("fd00::/64").addressCount == nil)
        #expect(IPNetwork("255.255.255.252/30").addresses.map(\.description).last == "255.255.255.255")
    }

    @Test func codableAsString() throws {
        let data = try JSONEncoder().encode(IPNetwork("10.1.0.5/24"))
        #expect(String(decoding: data, as: UTF8.self) == #""10.1.0.5\/24""# || String(decoding: data, as: UTF8.self) == #""10.1.0.5/24""#)
        #expect(try JSONDecoder().decode(IPNetwork.self, from: Data(#""fd00::/64""#.utf8)) == "fd00::/64")
    }
}

@Suite struct MACAddressTests {
    @Test func parsesAndFormats() throws {
        #expect(try MACAddress(parsing: "EE:EE:EE:EE:EE:EE") == .calicoHost)
        #expect(try MACAddress(parsing: "0a-1b-2c-3d-4e-5f").description == "0a:1b:2c:3d:4e:5f")
        for bad in ["", "ee:ee:ee:ee:ee", "ee:ee:ee:ee:ee:ee:ee", "ee:ee-ee:ee:ee:ee", "gg:ee:ee:ee:ee:ee", "eeee.eeee.eeee"] {
            #expect(throws: NetPrimitivesError.self) { try MACAddress(parsing: bad) }
        }
    }

    @Test func derivedAddressesAreStableLocalUnicast() {
        let first = MACAddress.derived(from: Array("node-1/flannel.1".utf8))
        #expect(first == MACAddress.derived(from: Array("node-1/flannel.1".utf8)))
        #expect(first != MACAddress.derived(from: Array("node-2/flannel.1".utf8)))
        #expect(first.isLocallyAdministered && !first.isMulticast)
        let random = MACAddress.random()
        #expect(random.isLocallyAdministered && !random.isMulticast)
    }
}

@Suite struct InterfaceNameTests {
    @Test func acceptsValidNames() throws {
        let names: [String] = ["eth0", "cni0", "flannel.1", "cali1234567890a", "a"]
        for name in names {
            #expect(try InterfaceName(name).value == name)
        }
    }

    @Test func rejectsInvalidNames() {
        let names: [String] = ["", ".", "..", "a/b", "a:b", "a b", "a\tb", "caliabcdefghijkl", String(repeating: "x", count: 16)]
        for name in names {
            #expect(throws: NetPrimitivesError.self) { try InterfaceName(name) }
        }
        // 15 bytes is the limit, counted in bytes, not characters.
        let accented = String(repeating: "é", count: 8)  // 8 characters, 16 bytes
        #expect(throws: NetPrimitivesError.self) { try InterfaceName(accented) }
    }
}
