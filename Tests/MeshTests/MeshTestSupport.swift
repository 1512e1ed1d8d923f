import Logging
import NIOCore
import NIOPosix
import NetPrimitives
import Synchronization
import Testing
@testable import Mesh

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out: \(what)" }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; false on timeout.
func eventually(_ timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Runs `body`, failing with ``TimedOut`` after `timeout` (the body is cancelled).
func withTimeout<T: Sendable>(_ timeout: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask { try? await Task.sleep(for: timeout); return nil }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

/// A node on 127.0.0.x, any free port, with short timers.
func makeNode(
    _ index: UInt64, secret: MeshSecret? = nil, versions: ClosedRange<UInt8> = 1...1, peers: [MeshPeerAddress] = [],
    heartbeatInterval: TimeAmount = .milliseconds(100), heartbeatTimeout: TimeAmount = .milliseconds(600),
    handshakeTimeout: TimeAmount = .seconds(2), acceptBurst: Int = 50, acceptsPerSecond: Double = 100,
    connectionLimit: Int = 100, port: Int = 0, uid: UInt64? = nil, rekey: RekeyPolicy = RekeyPolicy()
) -> MeshNode {
    var logger = Logger(label: "mesh-test")
    logger.logLevel = .critical
    let identity = PeerIdentity(name: PeerName(rawValue: 0x0a00_0000_0000 + index)!, nickname: "node\(index)", uid: uid ?? UInt64.random(in: 1...UInt64.max))
    return MeshNode(configuration: MeshConfiguration(
        identity: identity, listen: MeshPeerAddress(IPAddress.v4(IPv4Address(0x7f00_0000 + UInt32(index))), port: port),
        dialFromListenAddress: true, peers: peers, secret: secret, protocolVersions: versions,
        handshakeTimeout: handshakeTimeout, heartbeatInterval: heartbeatInterval, heartbeatTimeout: heartbeatTimeout,
        connectionLimit: connectionLimit, acceptBurst: acceptBurst, acceptsPerSecond: acceptsPerSecond,
        backoff: ReconnectBackoff(initial: .milliseconds(100), maximum: .milliseconds(400), resetAfter: .seconds(1)),
        connectTimeout: .seconds(2), rekey: rekey), logger: logger)
}

/// A raw TCP client for feeding a node bytes that no mesh peer would send.
final class RawClient: Sendable {
    let channel: Channel
    private let received: Collector

    private init(channel: Channel, received: Collector) {
        self.channel = channel
        self.received = received
    }

    static func connect(to address: MeshPeerAddress) async throws -> RawClient {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: address.address.description, port: address.port).get()
        return RawClient(channel: channel, received: collector)
    }

    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).get()
    }

    var bytesReceived: [UInt8] { received.bytes.withLock { $0 } }

    /// Waits until the node closes the connection.
    func waitForClose(_ timeout: Duration = .seconds(10)) async throws {
        let channel = self.channel
        try await withTimeout(timeout, "node closes the raw connection") { try await channel.closeFuture.get() }
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let chunk = Array(unwrapInboundIn(data).readableBytesView)
            bytes.withLock { $0 += chunk }
        }
        func channelInactive(context: ChannelHandlerContext) {
            context.close(promise: nil)
            context.fireChannelInactive()
        }
    }
}
