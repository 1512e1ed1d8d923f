#if canImport(Glibc)
import Glibc
#endif
import ChildProcess
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import BGP

/// A peer that stops reading: the speaker's writes back up (its TCP window stays shut), and
/// closing the session must not wait for them forever.
@Suite("Stalled peer", .serialized)
struct StalledPeerTests {
    /// Before closing was bounded, `stop()` sent Cease, then waited for that write to finish
    /// before closing the connection, and waited for the connection: to a peer that stopped
    /// reading it never returned (and the connection stayed open as long as the peer did).
    @Test(.privileged) func stopReturnsWhileAPeerHasStoppedReading() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let namespace = namespaces[0]
            // Small segments keep the kernel's send buffer small (it is sized from the MSS),
            // so a few hundred kilobytes of UPDATEs back up into the speaker itself.
            let ip = ChildProcess.find("ip", in: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) ?? "/usr/sbin/ip"
            let mtu = try namespace.runProcess(ip, arguments: ["link", "set", "lo", "mtu", "576"], timeoutMilliseconds: 5000)
            try #require(mtu.status.isSuccess, "\(mtu.standardErrorText)")
            try await withTimeout(.seconds(180), "stopReturnsWhileAPeerHasStoppedReading") {
                try await Self.stalledPeer(in: namespace)
            }
        }
    }

    static func stalledPeer(in namespace: NetworkNamespace) async throws {
        let speaker = try BGPSpeaker(
            configuration: .init(localAS: 65001, routerID: IPv4Address(1, 1, 1, 1), listenAddress: "127.0.0.1", listenPort: 179,
                                 socketContext: SocketContext { work in try await namespace.run(work) }),
            peers: [.init(address: "127.0.0.9", asNumber: 65009, passive: true, holdTime: 90, connectRetryTime: 1)])
        try await speaker.start()
        var stopped = false
        defer { if !stopped { Task { await speaker.stop() } } }
        // About 60 KB of UPDATEs once the session is up.
        for index in 0..<15_000 {
            try await speaker.advertise(try IPNetwork(parsing: "10.\(index / 256).\(index % 256).0/24"))
        }
        let descriptor = try await namespace.run { try Self.connectWithTinyWindow(from: "127.0.0.9", to: "127.0.0.1", port: 179) }
        var peer = RawPeer(connected: descriptor)
        defer { peer.close() }
        peer.send(try BGPMessage.open(OpenMessage(asNumber: 65009, holdTime: 90, identifier: IPv4Address(9, 9, 9, 9), capabilities: [
            .multiprotocol(.ipv4Unicast),
        ])).encoded())
        peer.send(try BGPMessage.keepalive.encoded())
        guard case .open = try peer.receive(), try peer.receive() == .keepalive else {
            Issue.record("no session")
            return
        }
        #expect(await eventually { await speaker.peerStatus("127.0.0.9")?.state == .established })
        // The peer reads nothing more: let the table back up.
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        try await withTimeout(.seconds(60), "speaker.stop() with a peer that stopped reading") { await speaker.stop() }
        stopped = true
        // 2 s grace for the Cease; generous for a loaded machine (it used to be never).
        #expect(ContinuousClock.now - started < .seconds(45))
        // And the connection is closed: draining it ends (with EOF) instead of waiting.
        var received = 0
        while let _ = try? peer.receive() { received += 1 }
        #expect(received > 0)
    }

    /// A TCP connection with a 4 KB receive buffer set before connecting, so the window the
    /// peer advertises stays small.
    static func connectWithTinyWindow(from local: IPAddress, to remote: IPAddress, port: Int) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw BGPError(.socketFailed, "socket", errno: errno) }
        var size: Int32 = 4096
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var (localStorage, localLength) = BGPSocket.socketAddress(local, port: 0)
        var (remoteStorage, remoteLength) = BGPSocket.socketAddress(remote, port: port)
        let connected = withUnsafePointer(to: &localStorage) { localPointer in
            withUnsafePointer(to: &remoteStorage) { remotePointer in
                localPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, localLength) } == 0
                    && remotePointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, remoteLength) } == 0
            }
        }
        guard connected else {
            let code = errno
            close(descriptor)
            throw BGPError(.socketFailed, "connect \(remote)", errno: code)
        }
        return descriptor
    }
}
