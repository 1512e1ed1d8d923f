#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NetPrimitives
import TestSupport
import Testing

@testable import BGP

/// The extra KEEPALIVE after a burst of UPDATEs, which makes a peer that sits on the last
/// UPDATE of a table transfer (bird 2, until its next wakeup) send it at once.
@Suite("Update burst nudge")
struct UpdateBurstNudgeTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func idleUntilAnUpdateArrives() {
        let nudge = UpdateBurstNudge()
        #expect(nudge.decision(at: start) == .idle)
    }

    @Test func waitsForTheQuietPeriodAfterTheLastUpdate() {
        var nudge = UpdateBurstNudge(quietPeriod: .milliseconds(20), minimumSpacing: .seconds(1))
        nudge.keepaliveSent(at: start)
        nudge.updateReceived(at: start + .seconds(2))
        #expect(nudge.decision(at: start + .seconds(2) + .milliseconds(5)) == .wait(until: start + .seconds(2) + .milliseconds(20)))
        // Another UPDATE pushes the end of the burst back.
        nudge.updateReceived(at: start + .seconds(2) + .milliseconds(10))
        #expect(nudge.decision(at: start + .seconds(2) + .milliseconds(20)) == .wait(until: start + .seconds(2) + .milliseconds(30)))
        #expect(nudge.decision(at: start + .seconds(2) + .milliseconds(30)) == .send)
    }

    @Test func keepsOneSecondBetweenKeepalives() {
        var nudge = UpdateBurstNudge(quietPeriod: .milliseconds(20), minimumSpacing: .seconds(1))
        nudge.keepaliveSent(at: start)
        nudge.updateReceived(at: start + .milliseconds(300))
        #expect(nudge.decision(at: start + .milliseconds(400)) == .wait(until: start + .seconds(1)))
        #expect(nudge.decision(at: start + .seconds(1)) == .send)
    }

    @Test func aKeepaliveAfterTheLastUpdateEndsTheBurst() {
        var nudge = UpdateBurstNudge()
        nudge.updateReceived(at: start)
        nudge.keepaliveSent(at: start + .milliseconds(50))
        #expect(nudge.decision(at: start + .seconds(5)) == .idle)
        nudge.updateReceived(at: start + .seconds(6))
        #expect(nudge.decision(at: start + .seconds(6) + .milliseconds(20)) == .send)
        nudge.reset()
        #expect(nudge.decision(at: start + .seconds(7)) == .idle)
    }
}

@Suite("Update burst nudge over loopback", .serialized)
struct UpdateBurstNudgeLoopbackTests {
    /// A peer sends a burst of UPDATEs and then nothing: the speaker answers with one
    /// KEEPALIVE shortly after the burst (not 30 s later with its periodic one), and the
    /// burst's last changes are on `bestPathChanges()` by then.
    @Test func speakerSendsOneKeepaliveAfterABurst() async throws {
        try await withTimeout(.seconds(120), "speakerSendsOneKeepaliveAfterABurst") {
            let port = testListenPort()
            let speaker = try BGPSpeaker(
                configuration: .init(localAS: 65001, routerID: IPv4Address(1, 1, 1, 1), listenAddress: "127.0.0.1", listenPort: port,
                                     gracefulRestartTime: 0),
                peers: [.init(address: "127.0.0.6", asNumber: 65006, passive: true, holdTime: 90, connectRetryTime: 1)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            let changes = speaker.bestPathChanges()
            let collector = Task {
                var received = 0
                for await batch in changes {
                    received += batch.count
                    if received >= 20 { break }
                }
                return received
            }
            let watchdog = Task {
                try? await Task.sleep(for: .seconds(5))
                collector.cancel()
            }
            defer { watchdog.cancel() }
            let burst = 20
            let result = try await Task.detached { () throws -> (afterBurst: Duration, keepalives: Int) in
                var peer = try RawPeer(from: "127.0.0.6", to: "127.0.0.1", port: port)
                defer { peer.close() }
                peer.send(try BGPMessage.open(OpenMessage(asNumber: 65006, holdTime: 90, identifier: IPv4Address(6, 6, 6, 6), capabilities: [])).encoded())
                peer.send(try BGPMessage.keepalive.encoded())
                guard case .open = try peer.receive(), try peer.receive() == .keepalive else { return (.zero, 0) }
                // The speaker's OPEN-time KEEPALIVE was just sent: keep the RFC 4271 spacing out of the way.
                try await Task.sleep(for: .milliseconds(1100))
                let attributes = PathAttributes(origin: .igp, asPath: ASPath(sequence: [65006]), nextHop: IPv4Address(127, 0, 0, 6))
                // One write, so the speaker sees one burst however the machine schedules this task.
                var bytes: [UInt8] = []
                for index in 0..<burst {
                    let update = UpdateMessage(attributes: attributes, reachableRoutes: [prefix("10.6.\(index).0/24")])
                    bytes += try BGPMessage.update(update).encoded()
                }
                peer.send(bytes)
                let sent = ContinuousClock.now
                var keepalives = 0
                var afterBurst = Duration.zero
                // Read for 1.5 s: exactly one KEEPALIVE is expected (the periodic one is 30 s away).
                var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
                setsockopt(peer.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                while ContinuousClock.now - sent < .milliseconds(1500) {
                    guard let message = try peer.receive() else { continue }
                    if message == .keepalive {
                        if keepalives == 0 { afterBurst = ContinuousClock.now - sent }
                        keepalives += 1
                    }
                }
                return (afterBurst, keepalives)
            }.value
            #expect(result.keepalives == 1)
            #expect(result.afterBurst > .zero && result.afterBurst < .milliseconds(500))
            #expect(await collector.value == burst)
        }
    }
}
