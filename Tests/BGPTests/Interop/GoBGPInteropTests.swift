import BGP
import NetPrimitives
import TestSupport
import Testing

/// Interop with a real gobgpd in a test namespace.
@Suite("Interop: gobgpd", .serialized)
struct GoBGPInteropTests {
    @Test(.privileged) func eBGPRoutesFlowBothWays() async throws {
        try await InteropLab.with(peers: 1) { lab in
            let gobgp = try GoBGPDaemon(
                namespace: lab.peerNamespaces[0], directory: lab.directory, name: "gobgp",
                configuration: GoBGPDaemon.configuration(routerID: "10.100.0.2", localAS: 65003, neighbor: "10.100.0.1", neighborAS: 65001))
            defer { gobgp.stop() }
            let speaker = try lab.speaker(localAS: 65001, peers: [lab.peerConfiguration(0, asNumber: 65003)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            try await speaker.advertise("10.201.0.0/24")
            #expect(await eventually(15) { gobgp.isEstablished(lab.speakerAddress(0)) })
            _ = gobgp.command(["global", "rib", "add", "10.203.0.0/24", "-a", "ipv4"])
            #expect(await eventually { await speaker.bestRoutes().contains { $0.prefix == prefix("10.203.0.0/24") } })
            #expect(await speaker.bestRoutes().first { $0.prefix == prefix("10.203.0.0/24") }?.attributes.asPath == ASPath(sequence: [65003]))
            #expect(await eventually { gobgp.ribText().contains("10.201.0.0/24") })
            _ = gobgp.command(["global", "rib", "del", "10.203.0.0/24", "-a", "ipv4"])
            #expect(await eventually { await speaker.routeCount() == 1 })
            try await speaker.withdraw("10.201.0.0/24")
            #expect(await eventually { !gobgp.ribText().contains("10.201.0.0/24") })
        }
    }

    /// The speaker reflects routes between two iBGP clients: bird (link 0) and gobgpd (link 1).
    @Test(.privileged) func routeReflectorClientGetsReflectedRoutes() async throws {
        try await InteropLab.with(peers: 2) { lab in
            let bird = try BirdDaemon(
                namespace: lab.peerNamespaces[0], directory: lab.directory, name: "bird",
                configuration: BirdDaemon.configuration(
                    routerID: "10.100.0.2", localAddress: "10.100.0.2", localAS: 65001, neighbor: "10.100.0.1", neighborAS: 65001,
                    routes4: ["10.200.1.0/24"], logPath: "\(lab.directory)/bird.log"))
            defer { bird.stop() }
            let gobgp = try GoBGPDaemon(
                namespace: lab.peerNamespaces[1], directory: lab.directory, name: "gobgp",
                configuration: GoBGPDaemon.configuration(routerID: "10.101.0.2", localAS: 65001, neighbor: "10.101.0.1", neighborAS: 65001))
            defer { gobgp.stop() }
            let speaker = try lab.speaker(localAS: 65001, peers: [
                lab.peerConfiguration(0, asNumber: 65001, routeReflectorClient: true),
                lab.peerConfiguration(1, asNumber: 65001, routeReflectorClient: true),
            ])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            #expect(await eventually(15) { gobgp.ribText().contains("10.200.1.0/24") })
            let text = gobgp.ribText()
            #expect(text.contains("10.100.0.2"))  // ORIGINATOR_ID / next hop of bird
            _ = gobgp.command(["global", "rib", "add", "10.203.0.0/24", "-a", "ipv4"])
            #expect(await eventually { bird.learnedRoutes().contains("10.203.0.0/24") })
            #expect(await eventually { bird.learnedRoutes().contains("BGP.originator_id: 10.101.0.2") })
        }
    }
}
