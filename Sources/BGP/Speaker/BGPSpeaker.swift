import Logging
import NIOCore
import NIOPosix
import NetPrimitives
import ServiceLifecycle

/// A BGP-4 speaker: sessions with its peers over TCP (SwiftNIO), a RIB with the standard
/// decision process, and a stream of best-path changes for its user to install. It never
/// touches the kernel's routing table.
///
/// Run it as a swift-service-lifecycle `Service` (``run()``), or call ``start()`` and
/// ``stop()`` yourself. All methods may be called from any task.
public final class BGPSpeaker: Service, Sendable {
    public let configuration: Configuration
    let core: SpeakerCore
    private let stopSignal: AsyncStream<Void>
    private let stopContinuation: AsyncStream<Void>.Continuation

    /// Creates a speaker. It uses one event loop of `eventLoopGroup` for everything.
    public init(
        configuration: Configuration, peers: [PeerConfiguration] = [],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "swift-cni.bgp")
    ) throws {
        self.configuration = configuration
        let loop = eventLoopGroup.next()
        self.core = SpeakerCore(loop: loop, configuration: configuration, logger: logger)
        (self.stopSignal, self.stopContinuation) = AsyncStream<Void>.makeStream()
        let core = self.core
        try loop.submit { for peer in peers { try core.addPeer(peer) } }.wait()
    }

    /// Starts the speaker and runs it until graceful shutdown or cancellation, then stops it
    /// (every session gets a Cease NOTIFICATION).
    public func run() async throws {
        try await start()
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                for await _ in stopSignal {}
            } onGracefulShutdown: {
                Task { await self.stop() }
            }
        } onCancel: {
            Task { await self.stop() }
        }
    }

    /// Opens the listener and starts connecting to the peers.
    public func start() async throws {
        try await core.start()
    }

    /// Closes every session and the listener. Safe to call more than once.
    public func stop() async {
        let core = self.core
        try? await core.loop.flatSubmit { core.stop() }.get()
        stopContinuation.finish()
    }

    // MARK: Peers

    /// Adds a peer; once the speaker runs, it starts connecting (unless passive).
    public func addPeer(_ peer: PeerConfiguration) async throws {
        let core = self.core
        try await core.loop.submit { try core.addPeer(peer) }.get()
    }

    /// Removes a peer: its session gets Cease (peer de-configured), its routes are withdrawn.
    public func removePeer(_ address: IPAddress) async throws {
        let core = self.core
        try await core.loop.submit { try core.removePeer(address) }.get()
    }

    /// Sets the RFC 4456 cluster ID used from now on when reflecting (nil: the router ID), as
    /// when a node becomes a route reflector while it runs. Routes already reflected keep theirs.
    public func setClusterID(_ clusterID: IPv4Address?) async throws {
        let core = self.core
        try await core.loop.submit { core.rib.clusterID = clusterID ?? core.rib.routerID }.get()
    }

    /// State and counters of every peer, sorted by address.
    public func peerStatuses() async -> [PeerStatus] {
        let core = self.core
        return (try? await core.loop.submit { core.peers.values.map { core.status(of: $0) } }.get())?
            .sorted { $0.address < $1.address } ?? []
    }

    /// State and counters of one peer.
    public func peerStatus(_ address: IPAddress) async -> PeerStatus? {
        let core = self.core
        return try? await core.loop.submit { core.peers[address].map { core.status(of: $0) } }.get()
    }

    // MARK: Routes

    /// Originates `prefix` (host bits are ignored). Next hop nil means "this speaker" (its
    /// address on each session).
    public func advertise(_ prefix: IPNetwork, nextHop: IPAddress? = nil, attributes: PathAttributes = PathAttributes()) async throws {
        let core = self.core
        let key = BGPPrefix(prefix)
        try await core.loop.submit { core.deliver(core.rib.originate(key, attributes: attributes, nextHop: nextHop)) }.get()
    }

    /// Stops originating `prefix`.
    public func withdraw(_ prefix: IPNetwork) async throws {
        let core = self.core
        let key = BGPPrefix(prefix)
        try await core.loop.submit { core.deliver(core.rib.withdrawOriginated(key)) }.get()
    }

    /// The current best route of every prefix (the Loc-RIB).
    public func bestRoutes() async -> [BGPRoute] {
        let core = self.core
        return (try? await core.loop.submit { core.rib.bestRoutes() }.get()) ?? []
    }

    /// The number of prefixes in the Loc-RIB.
    public func routeCount() async -> Int {
        let core = self.core
        return (try? await core.loop.submit { core.rib.prefixCount }.get()) ?? 0
    }

    /// Best-path changes, in batches (one per processed UPDATE or operation). The first batch
    /// is the current Loc-RIB. The stream ends when the speaker stops.
    public func bestPathChanges() -> AsyncStream<[BestPathChange]> {
        let (stream, continuation) = AsyncStream<[BestPathChange]>.makeStream()
        let core = self.core
        core.loop.execute { core.subscribe(continuation) }
        return stream
    }
}
