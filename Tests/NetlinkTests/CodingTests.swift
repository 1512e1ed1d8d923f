import NetPrimitives
import Testing

@testable import Netlink

/// Golden bytes and parsing: requests built, not sent. No root needed.
@Suite("Message coding")
struct CodingTests {
    @Test("an exclusive /32 route request encodes rtmsg and attributes as the kernel expects")
    func routeBytes() throws {
        let route = Route(destination: try IPNetwork(parsing: "10.0.0.1/32"), gateway: try IPAddress(parsing: "10.1.0.2"),
                          protocolTag: Route.ProtocolTag(91), metric: 7)
        let request = try RouteRequest.build(route, verb: .add) { _ in 3 }
        let bytes = request.bytes
        #expect(RouteNetlinkBytes.uint32(bytes[...]) == UInt32(bytes.count))
        #expect(RouteNetlinkBytes.uint16(bytes[...], at: 4) == 24)                 // RTM_NEWROUTE
        #expect(RouteNetlinkBytes.uint16(bytes[...], at: 6) == 0x0601)             // REQUEST|EXCL|CREATE
        #expect(Array(bytes[16..<28]) == [2, 32, 0, 0, 254, 91, 0, 1, 0, 0, 0, 0]) // AF_INET /32 main proto 91 universe unicast
        let attributes = RouteNetlinkAttributes(bytes[28...])
        #expect(attributes.address(1)?.description == "10.0.0.1")                 // RTA_DST
        #expect(attributes.uint32(15) == 254)                                      // RTA_TABLE
        #expect(attributes.uint32(6) == 7)                                         // RTA_PRIORITY
        #expect(attributes.address(5)?.description == "10.1.0.2")                  // RTA_GATEWAY
        #expect(request.operation() == "ip route add 10.0.0.1/32 via 10.1.0.2 proto 91 metric 7")
    }

    @Test("a route without gateway gets scope link, as ip route add does; onlink sets RTNH_F_ONLINK")
    func scopes() throws {
        let direct = try RouteRequest.build(Route(destination: try IPNetwork(parsing: "10.0.0.0/24"), device: "eth0"), verb: .add) { _ in 2 }
        #expect(direct.bytes[22] == 253)
        let onlink = try RouteRequest.build(Route(destination: try IPNetwork(parsing: "10.0.0.0/24"), gateway: try IPAddress(parsing: "10.9.9.9"),
                                                  device: "eth0", isOnLink: true), verb: .add) { _ in 2 }
        #expect(onlink.bytes[22] == 0)
        #expect(RouteNetlinkBytes.uint32(onlink.bytes[...], at: 24) == 4)
    }

    @Test("a gateway of the other family is refused before any call")
    func familyMismatch() throws {
        #expect(throws: NetlinkError.self) {
            try RouteRequest.build(Route(destination: try IPNetwork(parsing: "10.0.0.0/24"), gateway: try IPAddress(parsing: "fe80::1")), verb: .add) { _ in 1 }
        }
    }

    @Test("an FDB entry is AF_BRIDGE with NTF_SELF, permanent, NDA_DST and NDA_LLADDR")
    func forwardingEntryBytes() throws {
        let entry = Neighbor.forwardingEntry(try MACAddress(parsing: "0a:0b:0c:0d:0e:0f"), destination: try IPAddress(parsing: "192.168.0.2"))
        let request = try NeighborRequest.build(entry, index: 5, verb: .append)
        let bytes = request.bytes
        #expect(RouteNetlinkBytes.uint16(bytes[...], at: 6) == 0x0C01)             // REQUEST|CREATE|APPEND
        #expect(Array(bytes[16..<28]) == [7, 0, 0, 0, 5, 0, 0, 0, 0x80, 0, 2, 0])
        let attributes = RouteNetlinkAttributes(bytes[28...])
        #expect(attributes.address(1)?.description == "192.168.0.2")
        #expect(attributes.macAddress(2)?.description == "0a:0b:0c:0d:0e:0f")
    }

    @Test("the extended ACK text is read from an NLMSG_ERROR with NLM_F_ACK_TLVS")
    func extendedAck() {
        let text = Array("Nexthop has invalid gateway".utf8) + [0]
        let messageAttribute = RouteRequest.attribute(1, text)
        var payload = RouteNetlinkBytes.encode(Int32(-101))                         // -ENETUNREACH
        payload += RouteNetlinkBytes.encode(UInt32(40)) + [UInt8](repeating: 0, count: 12) // capped inner header
        payload += messageAttribute
        var datagram = RouteNetlinkBytes.encode(UInt32(16 + payload.count)) + RouteNetlinkBytes.encode(UInt16(2))
        datagram += RouteNetlinkBytes.encode(UInt16(0x300)) + RouteNetlinkBytes.encode(UInt32(9)) + RouteNetlinkBytes.encode(UInt32(0))
        datagram += payload
        let replies = NetlinkReply.split(datagram[...])
        #expect(replies.count == 1 && replies[0].sequence == 9)
        let error = NetlinkSocket.error(in: replies[0]) { "ip route add x" }
        #expect(error?.errno == 101)
        #expect(error?.kernelMessage == "Nexthop has invalid gateway")
        #expect(error?.description == "ip route add x: kernel error: Network is unreachable (kernel: Nexthop has invalid gateway)")
    }

    @Test("link requests carry the full name; VNIs over 24 bits are refused")
    func linkRequests() throws {
        let request = try LinkRequest.create(.veth("abcdefghijklmno", peer: "p")) { _ in 1 }
        let attributes = RouteNetlinkAttributes(request.bytes[32...])
        #expect(attributes.string(3) == "abcdefghijklmno")
        #expect(throws: NetlinkError.self) {
            try LinkRequest.create(.vxlan("vx", options: VXLANOptions(identifier: 1 << 24))) { _ in 1 }
        }
    }

    @Test("sysctl keys: net.* only, dots or slashes, no traversal")
    func sysctlKeys() throws {
        #expect(try NetlinkHandle.sysctlPath("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward")
        #expect(try NetlinkHandle.sysctlPath("net/ipv4/conf/eth0.5/rp_filter") == "/proc/sys/net/ipv4/conf/eth0.5/rp_filter")
        #expect(throws: NetlinkError.self) { try NetlinkHandle.sysctlPath("kernel.pid_max") }
        #expect(throws: NetlinkError.self) { try NetlinkHandle.sysctlPath("net/../kernel/x") }
    }
}

@Suite("Dump collection")
struct DumpCollectorTests {
    static func message(type: Int, flags: Int, sequence: UInt32, payload: [UInt8] = [0, 0, 0, 0]) -> [UInt8] {
        RouteNetlinkBytes.encode(UInt32(16 + payload.count)) + RouteNetlinkBytes.encode(UInt16(type))
            + RouteNetlinkBytes.encode(UInt16(flags)) + RouteNetlinkBytes.encode(sequence) + RouteNetlinkBytes.encode(UInt32(0)) + payload
    }

    @Test("messages of other sequences are ignored; NLMSG_DONE ends the dump")
    func collects() throws {
        var collector = NetlinkDumpCollector(sequence: 5)
        let datagram = Self.message(type: 16, flags: 2, sequence: 4) + Self.message(type: 16, flags: 2, sequence: 5)
            + Self.message(type: 16, flags: 2, sequence: 5)
        try collector.consume(NetlinkReply.split(datagram[...]), operation: { "dump" })
        #expect(!collector.isFinished)
        try collector.consume(NetlinkReply.split(Self.message(type: 3, flags: 2, sequence: 5)[...]), operation: { "dump" })
        #expect(collector.isFinished && !collector.wasInterrupted)
        #expect(collector.replies.count == 2)
    }

    @Test("NLM_F_DUMP_INTR on any message marks the dump for a retry")
    func interrupted() throws {
        var collector = NetlinkDumpCollector(sequence: 1)
        let datagram = Self.message(type: 24, flags: 2 | 0x10, sequence: 1) + Self.message(type: 3, flags: 2, sequence: 1)
        try collector.consume(NetlinkReply.split(datagram[...]), operation: { "dump" })
        #expect(collector.isFinished && collector.wasInterrupted)
    }

    @Test("an error in a dump is thrown")
    func error() {
        var collector = NetlinkDumpCollector(sequence: 2)
        let datagram = Self.message(type: 2, flags: 0, sequence: 2, payload: RouteNetlinkBytes.encode(Int32(-1)) + [UInt8](repeating: 0, count: 16))
        #expect(throws: NetlinkError.self) { try collector.consume(NetlinkReply.split(datagram[...]), operation: { "dump" }) }
    }
}
