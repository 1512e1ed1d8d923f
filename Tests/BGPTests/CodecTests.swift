import NIOCore
import NetPrimitives
import Testing

@testable import BGP

let marker = [UInt8](repeating: 0xFF, count: 16)

func prefix(_ text: String) -> BGPPrefix { try! BGPPrefix(parsing: text) }

@Suite("Codec")
struct CodecTests {
    @Test func keepaliveGoldenBytes() throws {
        #expect(try BGPMessage.keepalive.encoded() == marker + [0x00, 0x13, 0x04])
        #expect(try BGPMessage.decode(marker + [0x00, 0x13, 0x04]) == .keepalive)
    }

    @Test func openGoldenBytes() throws {
        let open = OpenMessage(asNumber: 65001, holdTime: 90, identifier: IPv4Address(10, 0, 0, 1),
                               capabilities: [.multiprotocol(.ipv4Unicast)])
        let expected = marker + [0x00, 0x2D, 0x01, 0x04, 0xFD, 0xE9, 0x00, 0x5A, 0x0A, 0x00, 0x00, 0x01, 0x10,
                                 0x02, 0x06, 0x01, 0x04, 0x00, 0x01, 0x00, 0x01,
                                 0x02, 0x06, 0x41, 0x04, 0x00, 0x00, 0xFD, 0xE9]
        #expect(try BGPMessage.open(open).encoded() == expected)
        let decoded = try BGPMessage.decode(expected)
        guard case .open(let back) = decoded else { Issue.record("not an OPEN"); return }
        #expect(back.asNumber == 65001)
        #expect(back.families == [.ipv4Unicast])
    }

    @Test func openWithFourOctetASUsesASTrans() throws {
        let open = OpenMessage(asNumber: 4_200_000_001, holdTime: 3, identifier: IPv4Address(1, 1, 1, 1), capabilities: [
            .multiprotocol(.ipv6Unicast), .routeRefresh,
            .gracefulRestart(.init(restarting: true, restartTime: 120, families: [.init(family: .ipv4Unicast, forwardingStatePreserved: true)])),
            .unknown(code: 70, value: [1, 2]),
        ])
        #expect(open.myAutonomousSystem == 23456)
        let back = try BGPMessage.decode(try BGPMessage.open(open).encoded())
        #expect(back == .open(open))
        guard case .open(let decoded) = back else { return }
        #expect(decoded.asNumber == 4_200_000_001)
        #expect(decoded.gracefulRestart?.restartTime == 120)
        #expect(decoded.gracefulRestart?.restarting == true)
        #expect(decoded.supportsRouteRefresh)
    }

    @Test func updateGoldenBytes() throws {
        let update = UpdateMessage(
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001]), nextHop: IPv4Address(10, 0, 0, 1)),
            reachableRoutes: [prefix("10.1.0.0/16")])
        let expected = marker + [0x00, 0x2E, 0x02, 0x00, 0x00, 0x00, 0x14,
                                 0x40, 0x01, 0x01, 0x00,
                                 0x40, 0x02, 0x06, 0x02, 0x01, 0x00, 0x00, 0xFD, 0xE9,
                                 0x40, 0x03, 0x04, 0x0A, 0x00, 0x00, 0x01,
                                 0x10, 0x0A, 0x01]
        #expect(try BGPMessage.update(update).encoded() == expected)
        #expect(try BGPMessage.decode(expected) == .update(update))
    }

    @Test func updateRoundTripWithEveryAttribute() throws {
        let attributes = PathAttributes(
            origin: .incomplete,
            asPath: ASPath(segments: [.init(kind: .sequence, asNumbers: [65001, 4_200_000_000]), .init(kind: .set, asNumbers: [1, 2])]),
            nextHop: IPv4Address(192, 0, 2, 1), multiExitDiscriminator: 50, localPreference: 200, atomicAggregate: true,
            aggregator: .init(asNumber: 65001, address: IPv4Address(10, 0, 0, 9)), communities: [0xFDE9_0001, PathAttributes.noExport],
            originatorID: IPv4Address(10, 9, 9, 9), clusterList: [IPv4Address(10, 0, 0, 1)],
            unknown: [.init(flags: 0xC0, type: 99, value: Array(repeating: 7, count: 300))])
        let update = UpdateMessage(
            withdrawnRoutes: [prefix("10.9.0.0/16"), prefix("0.0.0.0/0")], attributes: attributes,
            reachableRoutes: [prefix("10.1.2.0/24"), prefix("10.1.2.3/32")],
            multiprotocolReach: MultiprotocolReach(family: .ipv6Unicast, nextHops: ["fd00::1", "fe80::1"], prefixes: [prefix("fd00:1::/64"), prefix("2001:db8::/32")]),
            multiprotocolUnreach: MultiprotocolUnreach(family: .ipv6Unicast, prefixes: [prefix("fd00:2::/48")]))
        let context = MessageContext(fourOctetAS: true, internalPeer: true)
        let decoded = try BGPMessage.decode(try BGPMessage.update(update).encoded(context: context), context: context)
        guard case .update(var back) = decoded else { Issue.record("not an UPDATE"); return }
        // Passed-on unknown attributes gain the partial bit.
        #expect(back.attributes.unknown.first?.flags == 0xE0)
        back.attributes.unknown[0].flags = 0xC0
        #expect(back == update)
    }

    @Test func twoOctetPeerGetsASTransAndAS4Path() throws {
        let attributes = PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001, 4_200_000_000, 65002]),
                                        nextHop: IPv4Address(10, 0, 0, 1),
                                        aggregator: .init(asNumber: 4_200_000_000, address: IPv4Address(10, 0, 0, 2)))
        let update = UpdateMessage(attributes: attributes, reachableRoutes: [prefix("10.0.0.0/8")])
        let old = MessageContext(fourOctetAS: false)
        let bytes = try BGPMessage.update(update).encoded(context: old)
        // The 2-octet AS_PATH carries AS_TRANS (0x5BA0).
        #expect(bytes.windowCount(of: [0x5B, 0xA0]) >= 1)
        guard case .update(let back) = try BGPMessage.decode(bytes, context: old) else { Issue.record("not an UPDATE"); return }
        #expect(back.attributes.asPath == attributes.asPath)
        #expect(back.attributes.aggregator == attributes.aggregator)
    }

    @Test func endOfRIBMarkers() throws {
        for family in [AddressFamily.ipv4Unicast, .ipv6Unicast] {
            guard case .update(let back) = try BGPMessage.decode(try BGPMessage.update(.endOfRIB(family)).encoded()) else {
                Issue.record("not an UPDATE"); continue
            }
            #expect(back.endOfRIBFamily == family)
        }
        #expect(try BGPMessage.update(.endOfRIB(.ipv4Unicast)).encoded() == marker + [0, 23, 2, 0, 0, 0, 0])
    }

    @Test func notificationAndRouteRefreshRoundTrip() throws {
        let notification = NotificationMessage(errorCode: 6, errorSubcode: 2, data: [1, 2, 3])
        #expect(try BGPMessage.decode(try BGPMessage.notification(notification).encoded()) == .notification(notification))
        #expect(try BGPMessage.routeRefresh(.init(family: .ipv6Unicast)).encoded() == marker + [0, 23, 5, 0, 2, 0, 1])
        #expect(try BGPMessage.decode(marker + [0, 23, 5, 0, 2, 0, 1]) == .routeRefresh(.init(family: .ipv6Unicast)))
    }

    @Test func incompleteFramesWaitForMoreBytes() throws {
        let update = UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [1]), nextHop: IPv4Address(1, 2, 3, 4)),
                                   reachableRoutes: [prefix("10.0.0.0/8")])
        let bytes = try BGPMessage.update(update).encoded() + BGPMessage.keepalive.encoded()
        var buffer = ByteBuffer()
        var messages: [BGPMessage] = []
        for byte in bytes {
            buffer.writeInteger(byte)
            while let message = try BGPMessage.read(from: &buffer) { messages.append(message) }
        }
        #expect(messages == [.update(update), .keepalive])
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        (Array(marker.prefix(15)) + [0, 0, 19, 4], UInt8(1), UInt8(1)),  // bad marker
        (marker + [0, 18, 4], 1, 2),  // length below 19
        (marker + [0x10, 0x01, 4], 1, 2),  // length above 4096
        (marker + [0, 19, 9], 1, 3),  // bad type
        (marker + [0, 20, 4, 0], 1, 2),  // KEEPALIVE with a body
        (marker + [0, 29, 1, 3, 0, 1, 0, 90, 1, 1, 1, 1, 0], 2, 1),  // version 3
        (marker + [0, 29, 1, 4, 0, 1, 0, 2, 1, 1, 1, 1, 0], 2, 6),  // hold time 2
        (marker + [0, 29, 1, 4, 0, 1, 0, 90, 0, 0, 0, 0, 0], 2, 3),  // identifier 0
        (marker + [0, 31, 1, 4, 0, 1, 0, 90, 1, 1, 1, 1, 2, 9, 0], 2, 4),  // optional parameter 9
        (marker + [0, 23, 2, 0, 9, 0, 0], 3, 1),  // withdrawn length overruns
        (marker + [0, 26, 2, 0, 0, 0, 3, 0x40, 0x01, 0x05], 3, 1),  // attribute overruns
        (marker + [0, 27, 2, 0, 0, 0, 4, 0x40, 0x63, 0x01, 0x00], 3, 2),  // unknown well-known attribute
        (marker + [0, 25, 2, 0, 0, 0, 0, 33, 10, 0, 0, 0], 3, 10),  // prefix length 33
        (marker + [0, 24, 2, 0, 0, 0, 0, 24, 10], 3, 10),  // truncated prefix
    ] as [([UInt8], UInt8, UInt8)])
    func errorsMapToNotifications(bytes: [UInt8], code: UInt8, subcode: UInt8) {
        do {
            _ = try BGPMessage.decode(bytes)
            Issue.record("decoded malformed input")
        } catch let error as BGPError {
            #expect(error.notification?.errorCode == code)
            #expect(error.notification?.errorSubcode == subcode)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    /// Builds an UPDATE with raw attribute bytes and one NLRI 10.0.0.0/8.
    func rawUpdate(_ attributes: [UInt8], nlri: [UInt8] = [8, 10]) -> [UInt8] {
        let length = 19 + 4 + attributes.count + nlri.count
        return marker + [UInt8(length >> 8), UInt8(length & 0xFF), 2, 0, 0, UInt8(attributes.count >> 8), UInt8(attributes.count & 0xFF)]
            + attributes + nlri
    }

    static let origin: [UInt8] = [0x40, 1, 1, 0]
    static let asPath: [UInt8] = [0x40, 2, 6, 2, 1, 0, 0, 0xFD, 0xE9]
    static let nextHop: [UInt8] = [0x40, 3, 4, 10, 0, 0, 1]

    @Test func rfc7606Actions() throws {
        let base = Self.origin + Self.asPath + Self.nextHop
        let cases: [([UInt8], UpdateErrorAction?)] = [
            (base, nil),
            ([0x40, 1, 1, 7] + Self.asPath + Self.nextHop, .treatAsWithdraw),  // bad ORIGIN value
            (Self.origin + [0x40, 2, 4, 9, 1, 0, 1] + Self.nextHop, .treatAsWithdraw),  // bad segment type
            (Self.origin + Self.asPath, .treatAsWithdraw),  // missing NEXT_HOP
            (base + [0x80, 4, 3, 0, 0, 1], .treatAsWithdraw),  // MED of 3 bytes
            (base + [0x40, 6, 1, 0], .attributeDiscard),  // ATOMIC_AGGREGATE with a value
            (base + [0xC0, 7, 3, 0, 0, 0], .attributeDiscard),  // AGGREGATOR too short
            (base + [0xC0, 8, 3, 0, 0, 0], .treatAsWithdraw),  // COMMUNITIES not a multiple of 4
            (base + [0x80, 10, 0], .treatAsWithdraw),  // empty CLUSTER_LIST
            (base + Self.origin, .attributeDiscard),  // duplicate ORIGIN
            ([0xC0, 1, 1, 0] + Self.asPath + Self.nextHop, .treatAsWithdraw),  // ORIGIN flagged optional
            (base + [0x40, 5, 2, 0, 0], nil),  // LOCAL_PREF from eBGP is ignored
        ]
        for (attributes, expected) in cases {
            guard case .update(let update) = try BGPMessage.decode(rawUpdate(attributes)) else {
                Issue.record("not an UPDATE"); continue
            }
            #expect(update.errorAction == expected, "\(attributes)")
            if expected == .treatAsWithdraw {
                #expect(update.allReachable.isEmpty)
                #expect(update.allWithdrawn == [prefix("10.0.0.0/8")])
            }
        }
        // Unknown optional non-transitive attributes are dropped, transitive ones kept.
        guard case .update(let update) = try BGPMessage.decode(rawUpdate(base + [0x80, 77, 1, 1, 0xC0, 78, 1, 2])) else { return }
        #expect(update.attributes.unknown == [.init(flags: 0xC0, type: 78, value: [2])])
        // Duplicate MP_REACH_NLRI resets the session.
        let reach: [UInt8] = [0x80, 14, 5, 0, 2, 1, 0, 0]
        #expect(throws: BGPError.self) { try BGPMessage.decode(rawUpdate(base + reach + reach, nlri: [])) }
    }

    @Test func truncatedInputNeverCrashes() throws {
        let update = UpdateMessage(
            withdrawnRoutes: [prefix("10.9.0.0/16")],
            attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [1, 2]), nextHop: IPv4Address(1, 2, 3, 4),
                                       communities: [1, 2], clusterList: [IPv4Address(1, 1, 1, 1)]),
            reachableRoutes: [prefix("10.0.0.0/8")],
            multiprotocolReach: MultiprotocolReach(family: .ipv6Unicast, nextHops: ["fd00::1"], prefixes: [prefix("fd00::/64")]))
        let samples = [try BGPMessage.update(update).encoded(),
                       try BGPMessage.open(OpenMessage(asNumber: 65001, holdTime: 3, identifier: IPv4Address(1, 1, 1, 1),
                                                       capabilities: [.routeRefresh, .multiprotocol(.ipv6Unicast)])).encoded()]
        for bytes in samples {
            for cut in 0..<bytes.count {
                var truncated = Array(bytes.prefix(cut))
                var buffer = ByteBuffer(bytes: truncated)
                #expect((try? BGPMessage.read(from: &buffer)) == nil || cut == bytes.count)
                // A body cut short while the header claims it whole must throw, never crash.
                if cut >= 19 {
                    truncated[16] = UInt8(cut >> 8)
                    truncated[17] = UInt8(cut & 0xFF)
                    _ = try? BGPMessage.decode(truncated)
                }
            }
        }
    }

    /// Random bytes, half of them behind a valid header. The seed is printed first (a crash ends
    /// the process, so it must be in the log before): `SWIFTCNI_FUZZ_SEED=<seed> swift test
    /// --filter randomInputNeverCrashes` replays the run exactly.
    @Test func randomInputNeverCrashes() throws {
        let seed = try FuzzSeed.current()
        print("randomInputNeverCrashes: seed \(seed) (replay with SWIFTCNI_FUZZ_SEED=\(seed))")
        var generator = FuzzSeed.Generator(seed: seed)
        for round in 0..<20_000 {
            let length = Int.random(in: 0..<120, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 2 == 0, bytes.count >= 19 {
                // A valid header, so the body decoders get exercised.
                bytes.replaceSubrange(0..<16, with: marker)
                bytes[16] = 0
                bytes[17] = UInt8(bytes.count)
                bytes[18] = UInt8.random(in: 1...5, using: &generator)
            }
            _ = try? BGPMessage.decode(bytes, context: MessageContext(fourOctetAS: round % 3 == 0, internalPeer: round % 5 == 0))
        }
    }
}

extension Array where Element == UInt8 {
    func windowCount(of pattern: [UInt8]) -> Int {
        guard count >= pattern.count else { return 0 }
        return (0...(count - pattern.count)).filter { Array(self[$0..<($0 + pattern.count)]) == pattern }.count
    }
}
