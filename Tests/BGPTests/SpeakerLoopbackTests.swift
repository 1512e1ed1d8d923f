import Logging
import NIOPosix
import NetPrimitives
import TestSupport
import Testing

@testable import BGP

/// Waits up to `seconds` (times three: a loaded 2-core CI machine running every suite in
/// parallel is slow to schedule daemons and timers) for `condition`, polling every 50 ms. It
/// returns as soon as the condition holds, so the margin costs passing tests nothing.
func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 3000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// A port for a test speaker to listen on: random, and below Linux's ephemeral range
/// (32768–60999), where the outgoing connections of every test in the run take their local
/// ports (a listener on "::" cannot bind a port one of them holds: EADDRINUSE, seen once).
func testListenPort() -> Int { Int.random(in: 20000..<32768) }

/// Two speakers in this process talking over loopback (127.0.0.1 and 127.0.0.2): no root.
@Suite("Speaker over loopback", .serialized)
struct SpeakerLoopbackTests {
    static func pair(
        asA: UInt32 = 65001, asB: UInt32 = 65002, families: [AddressFamily] = [.ipv4Unicast, .ipv6Unicast]
    ) throws -> (BGPSpeaker, BGPSpeaker, Int) {
        let port = testListenPort()
        let a = try BGPSpeaker(
            configuration: .init(localAS: asA, routerID: IPv4Address(1, 1, 1, 1), listenAddress: "127.0.0.1", listenPort: port),
            peers: [.init(address: "127.0.0.2", asNumber: asB, passive: true, holdTime: 3, connectRetryTime: 1,
                          families: families, nextHopIPv6: try IPv6Address(parsing: "fd00::1"))])
        let b = try BGPSpeaker(
            configuration: .init(localAS: asB, routerID: IPv4Address(2, 2, 2, 2), listenAddress: nil),
            peers: [.init(address: "127.0.0.1", asNumber: asA, port: port, holdTime: 3, connectRetryTime: 1, families: families,
                          localAddress: "127.0.0.2", nextHopIPv6: try IPv6Address(parsing: "fd00::2"))])
        return (a, b, port)
    }

    @Test func eBGPRoutesFlowBothWaysAndWithdrawalsPropagate() async throws {
        try await withTimeout(.seconds(120), "eBGPRoutesFlowBothWaysAndWithdrawalsPropagate") {
            let (a, b, _) = try Self.pair(asB: 4_200_000_002)
            try await a.start()
            try await b.start()
            defer { Task { await a.stop(); await b.stop() } }
            #expect(await eventually { await a.peerStatus("127.0.0.2")?.state == .established })
            let changes = b.bestPathChanges()
            try await a.advertise("10.1.0.0/24")
            try await b.advertise("fd00:2::/64")
            #expect(await eventually { await b.bestRoutes().contains { $0.prefix == prefix("10.1.0.0/24") } })
            let learned = await b.bestRoutes().first { $0.prefix == prefix("10.1.0.0/24") }
            #expect(learned?.nextHop == "127.0.0.1")
            #expect(learned?.attributes.asPath == ASPath(sequence: [65001]))
            #expect(learned?.peer == "127.0.0.1")
            #expect(await eventually { await a.bestRoutes().contains { $0.prefix == prefix("fd00:2::/64") } })
            let v6 = await a.bestRoutes().first { $0.prefix == prefix("fd00:2::/64") }
            #expect(v6?.nextHop == "fd00::2")
            #expect(v6?.attributes.asPath == ASPath(sequence: [4_200_000_002]))
            try await a.withdraw("10.1.0.0/24")
            #expect(await eventually { await b.bestRoutes().allSatisfy { $0.prefix != prefix("10.1.0.0/24") } })
            var seen: [BestPathChange] = []
            for await batch in changes {
                seen += batch
                if seen.contains(.withdrawn(prefix("10.1.0.0/24"))) { break }
            }
            #expect(seen.contains { if case .updated(let route) = $0 { route.prefix == prefix("10.1.0.0/24") } else { false } })
            let status = await b.peerStatus("127.0.0.1")
            #expect(status?.updatesReceived ?? 0 >= 2)
            #expect(status?.negotiated?.fourOctetAS == true)
            #expect(status?.negotiated?.families == [.ipv4Unicast, .ipv6Unicast])
        }
    }

    @Test func iBGPSessionAndPeerRemoval() async throws {
        try await withTimeout(.seconds(120), "iBGPSessionAndPeerRemoval") {
            let (a, b, _) = try Self.pair(asA: 65001, asB: 65001)
            try await a.start()
            try await b.start()
            defer { Task { await a.stop(); await b.stop() } }
            try await b.advertise("10.7.0.0/16")
            #expect(await eventually { await a.bestRoutes().contains { $0.prefix == prefix("10.7.0.0/16") && $0.isInternal } })
            #expect(await a.bestRoutes().first?.attributes.localPreference == 100)
            try await a.removePeer("127.0.0.2")
            #expect(await a.routeCount() == 0)
            #expect(await eventually { await b.peerStatus("127.0.0.1")?.state != .established })
            #expect(await b.routeCount() == 1)
        }
    }

    @Test func maximumPrefixesClosesTheSession() async throws {
        try await withTimeout(.seconds(120), "maximumPrefixesClosesTheSession") {
            let port = testListenPort()
            let a = try BGPSpeaker(
                configuration: .init(localAS: 65001, routerID: IPv4Address(1, 1, 1, 1), listenAddress: "127.0.0.1", listenPort: port),
                peers: [.init(address: "127.0.0.2", asNumber: 65002, passive: true, holdTime: 3, connectRetryTime: 1, maximumPrefixes: 2)])
            let b = try BGPSpeaker(
                configuration: .init(localAS: 65002, routerID: IPv4Address(2, 2, 2, 2), listenAddress: nil),
                peers: [.init(address: "127.0.0.1", asNumber: 65001, port: port, holdTime: 3, connectRetryTime: 1, localAddress: "127.0.0.2")])
            try await a.start()
            try await b.start()
            defer { Task { await a.stop(); await b.stop() } }
            for index in 0..<3 { try await b.advertise(try IPNetwork(parsing: "10.\(index).0.0/16")) }
            #expect(await eventually { await b.peerStatus("127.0.0.1")?.lastDownReason == .notificationReceived(.init(errorCode: 6, errorSubcode: 1)) })
            #expect(await a.routeCount() == 0)
            #expect(await a.peerStatus("127.0.0.2")?.state == .idle)
        }
    }

    /// Both sides connect at once: the collision is resolved and one session stays up.
    @Test func simultaneousConnectionsResolveToOneSession() async throws {
        try await withTimeout(.seconds(120), "simultaneousConnectionsResolveToOneSession") {
            let port = testListenPort()
            let a = try BGPSpeaker(
                configuration: .init(localAS: 65001, routerID: IPv4Address(1, 1, 1, 1), listenAddress: "127.0.0.1", listenPort: port),
                peers: [.init(address: "127.0.0.2", asNumber: 65002, port: port, holdTime: 3, connectRetryTime: 1, localAddress: "127.0.0.1")])
            let b = try BGPSpeaker(
                configuration: .init(localAS: 65002, routerID: IPv4Address(2, 2, 2, 2), listenAddress: "127.0.0.2", listenPort: port),
                peers: [.init(address: "127.0.0.1", asNumber: 65001, port: port, holdTime: 3, connectRetryTime: 1, localAddress: "127.0.0.2")])
            async let startA: Void = a.start()
            async let startB: Void = b.start()
            _ = try await (startA, startB)
            defer { Task { await a.stop(); await b.stop() } }
            try await b.advertise("10.5.0.0/16")
            #expect(await eventually { await a.routeCount() == 1 })
            try await Task.sleep(for: .seconds(2))
            #expect(await a.peerStatus("127.0.0.2")?.state == .established)
            #expect(await b.peerStatus("127.0.0.1")?.state == .established)
            #expect(await a.peerStatus("127.0.0.2")?.establishedTransitions == 1)
        }
    }

    @Test func invalidPeerConfigurationIsRefused() async throws {
        try await withTimeout(.seconds(120), "invalidPeerConfigurationIsRefused") {
            let speaker = try BGPSpeaker(configuration: .init(localAS: 1, routerID: IPv4Address(1, 1, 1, 1), listenAddress: nil))
            await #expect(throws: BGPError.self) { try await speaker.addPeer(.init(address: "127.0.0.9", asNumber: 2, holdTime: 2)) }
            await #expect(throws: BGPError.self) { try await speaker.removePeer("127.0.0.9") }
        }
    }

    /// A stream of best-path changes ends when the speaker stops, also when it was asked for
    /// after the stop (it used to stay open forever then: nothing was left to finish it).
    @Test func bestPathChangesEndWhenTheSpeakerStops() async throws {
        let speaker = try BGPSpeaker(configuration: .init(localAS: 1, routerID: IPv4Address(1, 1, 1, 1), listenAddress: nil))
        try await speaker.start()
        try await speaker.advertise("10.9.0.0/16")
        let before = speaker.bestPathChanges()
        await speaker.stop()
        let after = speaker.bestPathChanges()
        let batches = try await withTimeout(.seconds(10), "best-path change streams of a stopped speaker") {
            var count = 0
            for await _ in before { count += 1 }
            for await _ in after { count += 1 }
            return count
        }
        #expect(batches <= 1)
    }
}
