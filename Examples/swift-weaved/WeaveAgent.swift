import Foundation
import IPAM
import Logging
import Mesh
import NetPrimitives
import Weave

/// The agent's state: the ring allocator of this peer (persisted in the node's local file
/// store before any message it produced leaves), the mesh router that carries the ring's
/// messages, and the data path. Answers the plugin's requests.
actor WeaveAgent {
    /// The mesh channel of the ring's messages (JSON `RingEnvelope`s).
    static let ringChannel = "weave.ipam"

    let router: MeshRouter
    let dataPath: DataPath
    let ringStore: RingNodeStore
    let logger: Logger
    let range: IPNetwork
    private(set) var ring: RingNode
    private var saveChain: Task<Void, any Error>?
    private(set) var gateway: IPAddress?
    var floodRemotes: Set<IPAddress> = []
    var floodErrors = 0
    /// The sleeve (nil in tests that run the agent without one).
    let sleeve: Sleeve?
    /// Which path carries each peer, as last computed by ``refreshPaths()``.
    var pathPlan = PathPlan()
    var peerPaths: [PeerPath] = []
    /// Heartbeats over the fast path (started with the sleeve).
    var heartbeat: FastPathHeartbeat?
    /// How long a neighbour's fast path may go without an acknowledged heartbeat.
    static let heartbeatTimeout: Duration = .seconds(3)
    private var tasks: [Task<Void, Never>] = []

    init(router: MeshRouter, dataPath: DataPath, sleeve: Sleeve?, ringStore: RingNodeStore, ring: RingNode, logger: Logger) {
        self.router = router
        self.sleeve = sleeve
        self.dataPath = dataPath
        self.ringStore = ringStore
        self.ring = ring
        self.logger = logger
        range = ring.ring.range
    }

    var me: RingPeer { ring.me }

    // MARK: - Lifecycle

    /// Data path without a gateway yet, mesh, ring loops; the bridge gets its address as soon as
    /// the ring allows it.
    func start() async throws {
        gateway = ring.address(of: WeaveNames.bridgeAddressOwner).map { IPAddress.v4($0) }
        try dataPath.ensure(gateway: gateway)
        if let sleeve {
            try sleeve.start()
            let heartbeat = try FastPathHeartbeat(
                local: router.localName.rawValue, bridgeIndex: try dataPath.netlink.link(named: WeaveNames.bridge).index,
                frameSize: dataPath.mtu + 14, identifier: WeaveNames.fastPathIdentifier, port: WeaveNames.fastPathPort)
            try heartbeat.start()
            self.heartbeat = heartbeat
        }
        let inbox = await router.messages(channel: Self.ringChannel)
        try await router.start()
        let routes = await router.routeChanges()
        tasks.append(Task { [weak self] in
            for await message in inbox { await self?.receive(message) }
        })
        tasks.append(Task { [weak self] in
            for await _ in routes { await self?.refreshPaths() }
        })
        tasks.append(Task { [weak self] in
            var tick = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.periodic(tick)
                tick += 1
            }
        })
        if !ring.ring.isInitialised { await send(try await ringChange { try $0.startInitialisation() }) }
        tasks.append(Task { [weak self] in await self?.acquireGateway() })
    }

    func stop() async {
        for task in tasks { task.cancel() }
        tasks = []
        await router.stop()
        sleeve?.stop()
        heartbeat?.stop()
        _ = await saveChain?.result
    }

    /// Every second: the flood list; every 2 s the ring to everyone; every 3 s a retry of
    /// undecided proposals.
    private func periodic(_ tick: Int) async {
        await refreshPaths()
        if tick % 2 == 0, ring.ring.isInitialised { await send([ring.gossip()]) }
        if tick % 3 == 2, ring.isProposing { await send((try? await ringChange { try $0.retry() }) ?? []) }
    }

    // MARK: - Ring

    /// Applies `change` to the ring, persists the result (in order with earlier saves) and
    /// returns the messages to send.
    private func ringChange<T>(_ change: (inout RingNode) throws -> T) async throws -> T {
        let result = try change(&ring)
        try await persist()
        return result
    }

    private func persist() async throws {
        let snapshot = ring
        let previous = saveChain
        let store = ringStore
        let task = Task {
            _ = await previous?.result
            try await store.save(snapshot)
        }
        saveChain = task
        try await task.value
    }

    private func send(_ envelopes: [RingEnvelope]) async {
        for envelope in envelopes {
            guard let bytes = try? JSONEncoder().encode(envelope) else { continue }
            do throws(MeshError) {
                if let to = envelope.to, let peer = PeerName(rawValue: to.name) {
                    try await router.send(Array(bytes), channel: Self.ringChannel, to: peer)
                } else {
                    try await router.broadcast(Array(bytes), channel: Self.ringChannel)
                }
            } catch {
                logger.debug("ring message not sent: \(error)")
            }
        }
    }

    private func receive(_ message: MeshRoutedMessage) async {
        do {
            let envelope = try JSONDecoder().decode(RingEnvelope.self, from: Data(message.payload))
            if let to = envelope.to, to != me { return }
            await send(try await ringChange { try $0.receive(envelope) })
        } catch {
            logger.warning("ring message from \(message.origin) dropped: \(error)")
        }
    }

    /// An address for `containerID`, waiting (up to `timeout`) for the ring's initialisation
    /// or a donation when this peer has no free space.
    func allocate(_ containerID: String, timeout: Duration = .seconds(45)) async throws -> IPv4Address {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var asked: ContinuousClock.Instant?
        while true {
            let result = try await ringChange { try $0.allocate(containerID: containerID) }
            switch result {
            case .allocated(let address):
                return address
            case .needsInitialisation:
                await send(try await ringChange { try $0.startInitialisation() })
            case .needsDonation:
                if asked.map({ clock.now - $0 > .seconds(1) }) ?? true {
                    asked = clock.now
                    await send(ring.requestDonation())
                }
            }
            guard clock.now < deadline else {
                throw WeaveError(.timedOut, "no address for \(containerID) within \(timeout): \(ring.ring.isInitialised ? "no peer donated space" : "the ring is not initialised (no quorum of peers yet)")")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func release(_ containerID: String) async throws -> IPv4Address? {
        try await ringChange { $0.release(containerID: containerID) }
    }

    /// Frees every allocation of a container not in `keep` (the bridge's own stays).
    func retain(_ keep: Set<String>) async throws -> [String] {
        let stale = ring.allocations.keys.filter { $0 != WeaveNames.bridgeAddressOwner && !keep.contains($0) }.sorted()
        guard !stale.isEmpty else { return [] }
        try await ringChange { ring in for container in stale { ring.release(containerID: container) } }
        return stale
    }

    /// The bridge's address, allocated from the ring like a pod's; retried until it exists.
    private func acquireGateway() async {
        while gateway == nil, !Task.isCancelled {
            do {
                let address = try await allocate(WeaveNames.bridgeAddressOwner, timeout: .seconds(5))
                try dataPath.ensure(gateway: .v4(address))
                gateway = .v4(address)
                logger.info("bridge \(WeaveNames.bridge) has \(address)/\(range.prefixLength)")
            } catch {
                logger.info("bridge address not yet available: \(error)")
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    // MARK: - rmpeer

    /// Reclaims the space of the peer named `text` (its nickname or name); waits for the
    /// consensus' outcome.
    func removePeer(_ text: String) async throws -> String {
        let candidates = Set(ring.ring.entries.map(\.owner))
        guard let dead = candidates.first(where: { $0.nickname == text || $0.nameText == text }) else {
            throw WeaveError(.invalidConfiguration, "no peer '\(text)' owns space in the ring (owners: \(candidates.map(\.description).sorted()))")
        }
        guard dead != me else { throw WeaveError(.invalidConfiguration, "a peer cannot remove itself") }
        if let peer = PeerName(rawValue: dead.name), await router.nextHop(to: peer) != nil {
            throw WeaveError(.invalidConfiguration, "\(dead) is still reachable: stop it first")
        }
        await send(try await ringChange { try $0.reclaim(dead, incarnation: 0) })
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline {
            switch ring.reclaimOutcome(of: dead, incarnation: 0) {
            case .won: return "reclaimed the space of \(dead)"
            case .lost(let winner): return "\(winner) reclaimed the space of \(dead)"
            case nil: try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw WeaveError(.timedOut, "no quorum agreed on reclaiming \(dead) within 30 s")
    }
}
