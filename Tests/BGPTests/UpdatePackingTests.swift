import NetPrimitives
import Testing

@testable import BGP

@Suite("UPDATE packing")
struct UpdatePackingTests {
    @Test func manyPrefixesAreSplitIntoMessagesOfAtMost4096Bytes() throws {
        let attributes = SharedAttributes(
            PathAttributes(origin: .igp, asPath: ASPath(sequence: Array(1...40)), nextHop: IPv4Address(10, 0, 0, 1),
                           communities: Array(1...50)), nextHop: "10.0.0.1")
        let v6 = SharedAttributes(PathAttributes(origin: .igp, asPath: ASPath(sequence: [1])), nextHop: "fd00::1")
        let v4Prefixes = (0..<5000).map { BGPPrefix(family: .v4, value: UInt128(0x1400_0000 + $0 * 256), length: 24)! }
        let v6Prefixes = (0..<3000).map { BGPPrefix(family: .v6, value: UInt128($0) << 64 | (UInt128(0xfd00) << 112), length: 64)! }
        var outbound = OutboundUpdates(announcements: [(attributes, v4Prefixes), (v6, v6Prefixes)])
        outbound.withdrawals = Array(v4Prefixes.prefix(2000)) + Array(v6Prefixes.prefix(1000))
        var reachable = 0
        var withdrawn = 0
        for message in SpeakerCore.messages(for: outbound) {
            let bytes = try message.encoded()
            #expect(bytes.count <= 4096)
            guard case .update(let update) = try BGPMessage.decode(bytes) else { Issue.record("not an UPDATE"); continue }
            #expect(update.errorAction == nil)
            reachable += update.allReachable.count
            withdrawn += update.allWithdrawn.count
        }
        #expect(reachable == 8000)
        #expect(withdrawn == 3000)
    }
}

@Suite("Addresses")
struct AddressTests {
    @Test func ipv4MappedPeersAreMatchedAsIPv4() throws {
        #expect(SpeakerCore.unmapped(try IPAddress(parsing: "::ffff:10.0.0.2")) == "10.0.0.2")
        #expect(SpeakerCore.unmapped("fd00::2") == "fd00::2")
        #expect(SpeakerCore.unmapped("10.0.0.2") == "10.0.0.2")
    }
}
