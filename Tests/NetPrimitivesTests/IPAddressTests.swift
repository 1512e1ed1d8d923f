import Testing
import NetPrimitives
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct IPv4AddressTests {
    @Test(arguments: ["0.0.0.0", "10.244.1.5", "255.255.255.255", "192.168.100.2", "1.2.3.4"])
    func roundTrips(_ text: String) throws {
        #expect(try IPv4Address(parsing: text).description == text)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "1..2.3", " 1.2.3.4",
                      "1.2.3.4 ", "a.b.c.d", "1.2.3.4/24", "1234.1.1.1", "::1"])
    func rejectsGarbage(_ text: String) {
        #expect(throws: NetPrimitivesError.self) { try IPv4Address(parsing: text) }
        #expect(IPv4Address(text) == nil)
    }

    @Test func bytesAndValue() throws {
        let address = IPv4Address(10, 244, 1, 5)
        #expect(address.value == 0x0AF4_0105)
        #expect(address.bytes == [10, 244, 1, 5])
        #expect(IPv4Address(bytes: [10, 244, 1, 5]) == address)
        #expect(IPv4Address(bytes: [1, 2, 3]) == nil)
        #expect(IPv4Address(169, 254, 1, 1).isLinkLocal)
        #expect(IPv4Address.loopback.isLoopback)
    }
}

@Suite struct IPv6AddressTests {
    @Test(arguments: [
        ("::", "::"), ("::1", "::1"), ("fd00::", "fd00::"), ("FD00:0:0:0:0:0:0:1", "fd00::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // RFC 5952 4.2.3: first of equal runs
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // a single zero group is not compressed
        ("fe80::1:2", "fe80::1:2"), ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1::", "1::"), ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ])
    func canonicalForm(_ input: String, _ expected: String) throws {
        #expect(try IPv6Address(parsing: input).description == expected)
    }

    @Test(arguments: [":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::",
                      "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7", "fe80::1%eth0", "::1.2.3", "1.2.3.4", ""])
    func rejectsGarbage(_ text: String) {
        #expect(throws: NetPrimitivesError.self) { try IPv6Address(parsing: text) }
    }

    @Test func bytesRoundTrip() throws {
        let address = try IPv6Address(parsing: "2001:db8::ff00:42:8329")
        #expect(IPv6Address(bytes: address.bytes) == address)
        #expect(address.bytes.count == 16)
        #expect(try IPv6Address(parsing: "fe80::1").isLinkLocal)
        #expect(try IPv6Address(parsing: "::ffff:1.2.3.4").mappedIPv4 == IPv4Address(1, 2, 3, 4))
    }
}

@Suite struct IPAddressTests {
    @Test func familiesAndOrdering() throws {
        let v4: IPAddress = "10.0.0.1"
        let v6: IPAddress = "fd00::1"
        #expect(v4.family == .v4 && v6.family == .v6)
        #expect(v4 < v6)
        #expect(IPAddress(bytes: v4.bytes) == v4)
        #expect(IPAddress(bytes: v6.bytes) == v6)
        #expect(throws: NetPrimitivesError.self) { try IPAddress(parsing: "10.0.0.1/8") }
    }

    @Test func arithmetic() {
        let address: IPAddress = "10.0.0.255"
        #expect(address.advanced(by: 1) == "10.0.1.0")
        #expect(address.advanced(by: -255) == "10.0.0.0")
        #expect(IPAddress("255.255.255.255").advanced(by: 1) == nil)
        #expect(IPAddress("0.0.0.0").advanced(by: -1) == nil)
        #expect(IPAddress("fd00::ffff").advanced(by: 1) == "fd00::1:0")
    }

    @Test func codableAsString() throws {
        let data = try JSONEncoder().encode(["a": IPAddress("10.1.2.3")])
        #expect(String(decoding: data, as: UTF8.self) == #"{"a":"10.1.2.3"}"#)
        #expect(try JSONDecoder().decode([IPAddress].self, from: Data(#"["fd00::1","1.1.1.1"]"#.utf8))
            == ["fd00::1", "1.1.1.1"])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPAddress].self, from: Data(#"["x"]"#.utf8)) }
    }
}
