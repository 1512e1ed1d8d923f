import Logging
import NIOCore
import NIOPosix

/// One peer of a mesh: listens for peers, keeps connections to known addresses (reconnecting
/// with jittered exponential backoff), authenticates and encrypts every connection, and
/// carries opaque gossip bytes between directly connected peers. It makes no routing
/// decisions: the gossip engine decides whom to send to, the node only delivers to a peer it
/// is connected to.
///
/// All methods may be called from any task; the node lives on one event loop.
public final class MeshNode: Sendable {
    public let configuration: MeshConfiguration
    let core: MeshCore

    public init(
        configuration: MeshConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "swift-cni.mesh")
    ) {
        self.configuration = configuration
        self.core = MeshCore(loop: eventLoopGroup.next(), configuration: configuration, logger: logger)
    }

    /// Opens the listener and starts dialing ``MeshConfiguration/peers``.
    public func start() async throws {
        let core = self.core
        do {
            try await core.loop.flatSubmit { core.start() }.get()
        } catch let error as MeshError {
            throw error
        } catch {
            throw MeshError(.socketFailed, "cannot start: \(error)")
        }
    }

    /// Closes every connection (peers are told why) and the listener; ends the event and
    /// gossip streams. Safe to call more than once.
    public func stop() async {
        let core = self.core
        try? await core.loop.flatSubmit { core.stop() }.get()
    }

    /// The bound listen address (with the real port when configured with port 0).
    public func listeningAddress() async -> MeshPeerAddress? {
        let core = self.core
        return try? await core.loop.submit { core.listening }.get()
    }

    /// Keeps `address` connected: dials now (or at ``start()``), after failures again with
    /// backoff.
    public func connect(to address: MeshPeerAddress) async {
        let core = self.core
        try? await core.loop.submit { core.addTarget(address) }.get()
    }

    /// Stops dialing `address`. An established connection stays until it breaks.
    public func forget(_ address: MeshPeerAddress) async {
        let core = self.core
        try? await core.loop.submit { core.forget(address) }.get()
    }

    /// Connection changes from now on. A peer whose connection is replaced (duplicate
    /// resolution) is reported established again, with a new ``dataChannel(for:)``. The stream
    /// ends when the node stops.
    public func events() -> AsyncStream<MeshConnectionEvent> {
        let (stream, continuation) = AsyncStream<MeshConnectionEvent>.makeStream()
        let core = self.core
        core.loop.execute { core.subscribeEvents(continuation) }
        return stream
    }

    /// Gossip received from now on. Each subscriber buffers at most
    /// ``MeshConfiguration/gossipBufferLimit`` messages; newer ones are dropped and counted.
    public func gossip() -> AsyncStream<MeshGossipMessage> {
        let (stream, continuation) = AsyncStream<MeshGossipMessage>.makeStream(
            bufferingPolicy: .bufferingOldest(configuration.gossipBufferLimit))
        let core = self.core
        core.loop.execute { core.subscribeGossip(continuation) }
        return stream
    }

    /// Sends gossip bytes to a directly connected peer on `channel` (at most 255 UTF-8 bytes).
    /// Throws ``MeshError/Code/notConnected`` when there is no established connection to it,
    /// ``MeshError/Code/peerBacklogged`` while the peer does not read (64 KiB or more queued).
    public func send(_ payload: [UInt8], channel: String, to peer: PeerName) async throws(MeshError) {
        guard channel.utf8.count <= 255 else { throw MeshError(.invalidValue, "gossip channel name longer than 255 bytes") }
        guard payload.count <= configuration.maximumGossipPayload else {
            throw MeshError(.invalidValue, "gossip payload of \(payload.count) bytes exceeds \(configuration.maximumGossipPayload)")
        }
        let core = self.core
        let result: Result<Void, MeshError>
        do {
            result = try await core.loop.submit { () -> Result<Void, MeshError> in
                do throws(MeshError) { try core.send(payload, channel: channel, to: peer); return .success(()) } catch { return .failure(error) }
            }.get()
        } catch {
            throw MeshError(.notConnected, "node is not running")
        }
        try result.get()
    }

    /// One message for ``send(_:)``.
    struct OutgoingGossip: Sendable {
        var peer: PeerName
        var channel: String
        var payload: [UInt8]
    }

    /// Sends several messages in one hop to the event loop, in order (the router's outbox).
    /// Messages to peers without a connection, or over the limits ``send(_:channel:to:)``
    /// checks, are dropped; returns the peers that refused some as backlogged.
    func send(_ messages: [OutgoingGossip]) async -> Set<PeerName> {
        let core = self.core
        let maximum = configuration.maximumGossipPayload
        let valid = messages.filter { $0.payload.count <= maximum && $0.channel.utf8.count <= 255 }
        return (try? await core.loop.submit { core.send(valid) }.get()) ?? []
    }

    /// The peers with an established connection, by name.
    public func connectedPeers() async -> [PeerIdentity] {
        let core = self.core
        return (try? await core.loop.submit { core.established.values.compactMap(\.peer) }.get())?
            .sorted { $0.name < $1.name } ?? []
    }

    /// Connections, targets, recent refusals and counters.
    public func status() async -> MeshNodeStatus {
        let core = self.core
        let configuration = self.configuration
        return (try? await core.loop.submit { core.status() }.get())
            ?? MeshNodeStatus(identity: configuration.identity, listening: nil, encryption: configuration.secret != nil,
                          connections: [], targets: [], recentRefusals: [], counters: MeshCounters())
    }

    /// The data-path keys of the established connection to `peer`: nil when not connected or
    /// when the connection is unencrypted (no secret). Whether the data path uses them
    /// between two addresses is ``TrustedSubnets/requiresDataEncryption(local:remote:)``.
    public func dataChannel(for peer: PeerName) async -> MeshDataChannel? {
        let core = self.core
        return try? await core.loop.submit { core.established[peer]?.dataChannel }.get()
    }
}
