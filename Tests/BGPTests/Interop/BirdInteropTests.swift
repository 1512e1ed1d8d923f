import BGP
import NetPrimitives
import TestSupport
import Testing

/// Interop with a real bird2 in a test namespace (hold 3 s, connect retry 1 s).
@Suite("Interop: bird2", .serialized)
struct BirdInteropTests {
    func bird(_ lab: InteropLab, localAS: UInt32, speakerAS: UInt32, routes4: [String], routes6: [String] = [],
              extra: String = "") throws -> BirdDaemon {
        try BirdDaemon(
            namespace: lab.peerNamespaces[0], directory: lab.directory, name: "bird",
            configuration: BirdDaemon.configuration(
                routerID: "10.100.0.2", localAddress: "10.100.0.2", localAS: localAS, neighbor: "10.100.0.1",
                neighborAS: speakerAS, routes4: routes4, routes6: routes6, ipv6NextHop: routes6.isEmpty ? nil : "fd00:100::2",
                extra: extra, logPath: "\(lab.directory)/bird.log"))
    }

    func has(_ speaker: BGPSpeaker, _ text: String) async -> Bool {
        await speaker.bestRoutes().contains { $0.prefix == prefix(text) }
    }

    @Test(.privileged) func eBGPRoutesFlowBothWaysWithIPv6AndWithdrawals() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let bird = try bird(lab, localAS: 65002, speakerAS: 65001, routes4: ["10.200.1.0/24", "10.200.2.0/24"],
                                routes6: ["fd00:200:1::/64"])
            defer { bird.stop() }
            let speaker = try lab.speaker(localAS: 65001, peers: [lab.peerConfiguration(0, asNumber: 65002, families: [.ipv4Unicast, .ipv6Unicast])])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            try await speaker.advertise("10.201.0.0/24")
            try await speaker.advertise("fd00:201::/64")
            #expect(await eventually(15) { await speaker.peerStatus(lab.peerAddress(0))?.state == .established })
            #expect(await eventually { let v4 = await has(speaker, "10.200.2.0/24"); let v6 = await has(speaker, "fd00:200:1::/64"); return v4 && v6 })
            let route = await speaker.bestRoutes().first { $0.prefix == prefix("10.200.1.0/24") }
            #expect(route?.nextHop == lab.peerAddress(0))
            #expect(route?.attributes.asPath == ASPath(sequence: [65002]))
            #expect(await speaker.bestRoutes().first { $0.prefix == prefix("fd00:200:1::/64") }?.nextHop == .v6(lab.peerIPv6(0)))
            #expect(await eventually { bird.learnedRoutes().contains("10.201.0.0/24") && bird.learnedRoutes().contains("fd00:201::/64") })
            #expect(await eventually { bird.learnedRoutes().contains("BGP.as_path: 65001") })
            // Withdrawals in both directions.
            try await speaker.withdraw("10.201.0.0/24")
            #expect(await eventually { !bird.learnedRoutes().contains("10.201.0.0/24") })
            _ = bird.command(["disable", "s4"])
            #expect(await eventually { let one = await has(speaker, "10.200.1.0/24"); let two = await has(speaker, "10.200.2.0/24"); return !one && !two })
            #expect(await has(speaker, "fd00:200:1::/64"))
        }
    }

    @Test(.privileged) func ipv6TransportSession() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let bird = try BirdDaemon(
                namespace: lab.peerNamespaces[0], directory: lab.directory, name: "bird6",
                configuration: """
                log "\(lab.directory)/bird6.log" all;
                router id 10.100.0.2;
                protocol device { }
                protocol static s6 { ipv6; route fd00:200:6::/64 blackhole; }
                protocol bgp speaker {
                  local fd00:100::2 as 65002;
                  neighbor fd00:100::1 as 65001;
                  hold time 3; keepalive time 1; connect retry time 1; connect delay time 1; error wait time 1, 2;
                  ipv6 { import all; export where source = RTS_STATIC; next hop self; };
                }

                """)
            defer { bird.stop() }
            let speaker = try BGPSpeaker(
                configuration: .init(localAS: 65001, routerID: IPv4Address(10, 255, 0, 1), listenAddress: "::",
                                     socketContext: lab.socketContext),
                peers: [.init(address: .v6(lab.peerIPv6(0)), asNumber: 65002, holdTime: 3, connectRetryTime: 1,
                              families: [.ipv6Unicast], localAddress: .v6(lab.speakerIPv6(0)))])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            try await speaker.advertise("fd00:201::/64")
            #expect(await eventually(15) { await has(speaker, "fd00:200:6::/64") })
            #expect(await speaker.bestRoutes().first { $0.prefix == prefix("fd00:200:6::/64") }?.nextHop == .v6(lab.peerIPv6(0)))
            #expect(await eventually { bird.learnedRoutes().contains("fd00:201::/64") })
        }
    }

    @Test(.privileged) func iBGPSessionExchangesRoutes() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let bird = try bird(lab, localAS: 65001, speakerAS: 65001, routes4: ["10.200.1.0/24"])
            defer { bird.stop() }
            let speaker = try lab.speaker(localAS: 65001, peers: [lab.peerConfiguration(0, asNumber: 65001)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            try await speaker.advertise("10.201.0.0/24")
            #expect(await eventually(15) { await has(speaker, "10.200.1.0/24") })
            let route = await speaker.bestRoutes().first { $0.prefix == prefix("10.200.1.0/24") }
            #expect(route?.isInternal == true)
            #expect(route?.attributes.localPreference == 100)
            #expect(await eventually { bird.learnedRoutes().contains("10.201.0.0/24") })
        }
    }

    @Test(.privileged) func fourOctetASNumbers() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let bird = try bird(lab, localAS: 4_200_000_002, speakerAS: 4_200_000_001, routes4: ["10.200.1.0/24"])
            defer { bird.stop() }
            let speaker = try lab.speaker(localAS: 4_200_000_001, peers: [lab.peerConfiguration(0, asNumber: 4_200_000_002)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            try await speaker.advertise("10.201.0.0/24")
            #expect(await eventually(15) { await has(speaker, "10.200.1.0/24") })
            #expect(await speaker.bestRoutes().first { $0.prefix == prefix("10.200.1.0/24") }?.attributes.asPath == ASPath(sequence: [4_200_000_002]))
            #expect(await eventually { bird.learnedRoutes().contains("BGP.as_path: 4200000001") })
        }
    }

    @Test(.privileged) func md5RightPasswordWorksWrongDoesNot() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let bird = try bird(lab, localAS: 65002, speakerAS: 65001, routes4: ["10.200.1.0/24"], extra: "password \"s3cret\";")
            defer { bird.stop() }
            let wrong = try lab.speaker(localAS: 65001, peers: [{
                var peer = lab.peerConfiguration(0, asNumber: 65002, password: "wrong")
                peer.port = 179
                return peer
            }()])
            try await wrong.start()
            try await Task.sleep(for: .seconds(4))
            #expect(await wrong.peerStatus(lab.peerAddress(0))?.state != .established)
            #expect(!bird.isEstablished())
            await wrong.stop()
            let right = try lab.speaker(localAS: 65001, peers: [lab.peerConfiguration(0, asNumber: 65002, password: "s3cret")])
            try await right.start()
            defer { Task { await right.stop() } }
            #expect(await eventually(15) { await has(right, "10.200.1.0/24") })
            // birdc is a separate process: on a loaded machine one call may time out.
            #expect(await eventually { bird.isEstablished() })
        }
    }

    @Test(.privileged) func restartingPeerKeepsItsRoutesWithinGracefulRestartTime() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let bird = try bird(lab, localAS: 65002, speakerAS: 65001, routes4: ["10.200.1.0/24", "10.200.2.0/24"],
                                extra: "graceful restart on; graceful restart time 20;")
            defer { bird.stop() }
            let speaker = try lab.speaker(localAS: 65001, peers: [lab.peerConfiguration(0, asNumber: 65002)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            #expect(await eventually(15) { await has(speaker, "10.200.2.0/24") })
            // Read while established: under a loaded full run the session may be re-establishing.
            #expect(await eventually { await speaker.peerStatus(lab.peerAddress(0))?.negotiated?.peerGracefulRestart?.restartTime == 20 })
            bird.kill()
            #expect(await eventually { await speaker.peerStatus(lab.peerAddress(0))?.state != .established })
            // Down, but the routes stay (stale) during the restart time.
            #expect(await speaker.routeCount() == 2)
            #expect(await speaker.peerStatus(lab.peerAddress(0))?.stalePrefixes == 2)
            #expect(await speaker.bestRoutes().allSatisfy(\.isStale))
            try bird.start()
            #expect(await eventually(15) { await speaker.peerStatus(lab.peerAddress(0))?.stalePrefixes == 0 })
            #expect(await speaker.routeCount() == 2)
            #expect(await speaker.bestRoutes().allSatisfy { !$0.isStale })
        }
    }

    @Test(.privileged) func peerDroppingWithoutGracefulRestartLosesItsRoutes() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let bird = try bird(lab, localAS: 65002, speakerAS: 65001, routes4: ["10.200.1.0/24"], extra: "graceful restart off;")
            defer { bird.stop() }
            let speaker = try lab.speaker(localAS: 65001, peers: [lab.peerConfiguration(0, asNumber: 65002)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            #expect(await eventually(15) { await has(speaker, "10.200.1.0/24") })
            bird.kill()
            #expect(await eventually { await speaker.routeCount() == 0 })
        }
    }
}
