#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NetPrimitives
import TestSupport
import Testing

@testable import BGP

/// A hand-driven BGP peer on a blocking socket, to send what no real speaker would.
struct RawPeer {
    let descriptor: Int32
    var pending = ByteBuffer()

    init(from local: IPAddress, to remote: IPAddress, port: Int) throws {
        descriptor = try BGPSocket.connect(to: remote, port: port, from: local, password: nil, timeoutMilliseconds: 2000)
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK)
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Wraps a connected blocking socket (3 s receive timeout).
    init(connected descriptor: Int32) {
        self.descriptor = descriptor
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next message, or nil on timeout or close.
    mutating func receive() throws -> BGPMessage? {
        while true {
            if let message = try BGPMessage.read(from: &pending) { return message }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            pending.writeBytes(chunk[0..<count])
        }
    }

    func close() { _ = Glibc.close(descriptor) }
}

@Suite("Malformed peer", .serialized)
struct MalformedPeerTests {
    @Test func silentPeerHitsTheHoldTimer() async throws {
        try await withTimeout(.seconds(120), "silentPeerHitsTheHoldTimer") {
            let port = testListenPort()
            let speaker = try BGPSpeaker(
                configuration: .init(localAS: 65001, routerID: IPv4Address(1, 1, 1, 1), listenAddress: "::", listenPort: port),
                peers: [.init(address: "127.0.0.5", asNumber: 65005, passive: true, holdTime: 3, connectRetryTime: 1)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            let started = ContinuousClock.now
            let received = try await Task.detached { () throws -> [BGPMessage] in
                var peer = try RawPeer(from: "127.0.0.5", to: "127.0.0.1", port: port)
                defer { peer.close() }
                peer.send(try BGPMessage.open(OpenMessage(asNumber: 65005, holdTime: 3, identifier: IPv4Address(5, 5, 5, 5), capabilities: [])).encoded())
                peer.send(try BGPMessage.keepalive.encoded())
                var messages: [BGPMessage] = []
                while let message = try peer.receive() {
                    messages.append(message)
                    if case .notification = message { break }
                }
                return messages
            }.value
            let elapsed = ContinuousClock.now - started
            // Keepalives every second (hold 3 / 3), then the hold timer fires after 3 s of silence.
            #expect(received.filter { $0 == .keepalive }.count >= 2)
            #expect(received.last == .notification(.holdTimerExpired))
            // At least the hold time; the upper bound only proves the timer fires at all (a loaded
            // CI machine can delay the wake-up by seconds).
            #expect(elapsed >= .seconds(3) && elapsed < .seconds(30))
            #expect(await speaker.peerStatus("127.0.0.5")?.lastDownReason == .notificationSent(.holdTimerExpired))
        }
    }

    @Test func malformedUpdateGetsItsNotificationAndOtherSessionsCarryOn() async throws {
        try await withTimeout(.seconds(120), "malformedUpdateGetsItsNotificationAndOtherSessionsCarryOn") {
            let port = testListenPort()
            let speaker = try BGPSpeaker(
                configuration: .init(localAS: 65001, routerID: IPv4Address(1, 1, 1, 1), listenAddress: "127.0.0.1", listenPort: port),
                peers: [.init(address: "127.0.0.3", asNumber: 65003, passive: true, holdTime: 3, connectRetryTime: 1),
                        .init(address: "127.0.0.4", asNumber: 65004, passive: true, holdTime: 3, connectRetryTime: 1)])
            try await speaker.start()
            defer { Task { await speaker.stop() } }
            let good = Task.detached { () throws -> Bool in
                var peer = try RawPeer(from: "127.0.0.4", to: "127.0.0.1", port: port)
                defer { peer.close() }
                peer.send(try BGPMessage.open(OpenMessage(asNumber: 65004, holdTime: 3, identifier: IPv4Address(4, 4, 4, 4), capabilities: [])).encoded())
                peer.send(try BGPMessage.keepalive.encoded())
                guard case .open = try peer.receive(), try peer.receive() == .keepalive else { return false }
                let update = UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65004]), nextHop: IPv4Address(127, 0, 0, 4)),
                                           reachableRoutes: [prefix("10.4.0.0/16")])
                peer.send(try BGPMessage.update(update).encoded())
                // Keep the session alive while the other peer misbehaves.
                for _ in 0..<4 {
                    peer.send(try BGPMessage.keepalive.encoded())
                    try? await Task.sleep(for: .milliseconds(500))
                }
                return true
            }
            let notification = Task.detached { () throws -> NotificationMessage? in
                var peer = try RawPeer(from: "127.0.0.3", to: "127.0.0.1", port: port)
                defer { peer.close() }
                peer.send(try BGPMessage.open(OpenMessage(asNumber: 65003, holdTime: 3, identifier: IPv4Address(3, 3, 3, 3), capabilities: [])).encoded())
                peer.send(try BGPMessage.keepalive.encoded())
                guard case .open = try peer.receive(), try peer.receive() == .keepalive else { return nil }
                // An UPDATE whose attribute overruns the attribute section (RFC 7606 §4: session reset).
                peer.send(marker + [0, 26, 2, 0, 0, 0, 3, 0x40, 0x01, 0x05])
                while let message = try peer.receive() {
                    if case .notification(let notification) = message { return notification }
                }
                return nil
            }
            #expect(try await notification.value == NotificationMessage(errorCode: 3, errorSubcode: 1))
            #expect(await eventually { await speaker.routeCount() == 1 })
            #expect(await speaker.peerStatus("127.0.0.4")?.state == .established)
            #expect(await speaker.peerStatus("127.0.0.3")?.lastError?.contains("overruns") == true)
            #expect(try await good.value)
            #expect(await speaker.peerStatus("127.0.0.4")?.establishedTransitions == 1)
        }
    }
}
