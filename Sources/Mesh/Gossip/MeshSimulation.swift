import NIOCore

/// An in-process mesh of ``GossipEngine``s joined by simulated direct links, for tests and for
/// `cnilab bench mesh`: every message is encoded, counted and decoded as on the wire, and
/// delivered in rounds (a round delivers every message sent in the previous one, so rounds
/// measure hops). Deterministic for a given seed.
public struct MeshSimulation: Sendable {
    /// Traffic counters.
    public struct Statistics: Hashable, Sendable, Codable {
        public var messages = 0
        public var bytes = 0
        /// Whole entries carried (an entry forwarded twice counts twice).
        public var entries = 0
        /// Patches carried.
        public var patches = 0
        /// Delivery rounds until no message was left (hops of the longest chain).
        public var rounds = 0
        public init() {}

        static func + (lhs: Statistics, rhs: Statistics) -> Statistics {
            var sum = lhs
            sum.messages += rhs.messages
            sum.bytes += rhs.bytes
            sum.entries += rhs.entries
            sum.patches += rhs.patches
            sum.rounds += rhs.rounds
            return sum
        }
    }

    /// Shapes of meshes the harness builds.
    public enum Shape: Hashable, Sendable {
        case fullMesh, line, ring, star
        /// A ring plus random chords, about `degree` connections per peer.
        case random(degree: Int)
    }

    struct Link: Hashable, Sendable {
        let low: PeerName, high: PeerName
        init(_ a: PeerName, _ b: PeerName) { (low, high) = a < b ? (a, b) : (b, a) }
    }

    struct InFlight: Sendable {
        let from: PeerName, to: PeerName
        let bytes: ByteBuffer
    }

    /// The peers' names, in creation order.
    public let names: [PeerName]
    /// Engines of the live peers.
    public private(set) var engines: [PeerName: GossipEngine] = [:]
    /// Counters since creation.
    public private(set) var totals = Statistics()
    /// The simulated clock (advanced only by ``collectGarbage(advancing:delay:)``).
    public private(set) var now: ContinuousClock.Instant
    private(set) var links: Set<Link> = []
    private var adjacency: [PeerName: Set<PeerName>] = [:]

    @discardableResult
    private mutating func addLink(_ a: PeerName, _ b: PeerName) -> Bool {
        guard links.insert(Link(a, b)).inserted else { return false }
        adjacency[a, default: []].insert(b)
        adjacency[b, default: []].insert(a)
        return true
    }

    @discardableResult
    private mutating func removeLink(_ a: PeerName, _ b: PeerName) -> Bool {
        guard links.remove(Link(a, b)) != nil else { return false }
        adjacency[a]?.remove(b)
        adjacency[b]?.remove(a)
        return true
    }
    var queue: [InFlight] = []
    var random: SplitMix64

    /// `peerCount` live peers with no connections; peer i is named `MeshSimulation.name(i)`.
    public init(peerCount: Int, seed: UInt64 = 1, distinctShortIDs: Bool = false) {
        names = (0..<peerCount).map(Self.name)
        random = SplitMix64(seed: seed)
        now = .now
        for (index, name) in names.enumerated() {
            let shortID = distinctShortIDs ? ShortID(rawValue: UInt16(index % ShortID.count)) : nil
            engines[name] = GossipEngine(identity: PeerIdentity(name: name, nickname: "peer\(index)", uid: random.next()), shortID: shortID)
        }
    }

    /// The name of peer `index` (02:00:00:xx:xx:xx).
    public static func name(_ index: Int) -> PeerName {
        PeerName(rawValue: 0x0200_0000_0000 | UInt64(index & 0xff_ffff))!
    }

    /// The peers directly linked to `peer`, sorted.
    public func linkedPeers(of peer: PeerName) -> [PeerName] {
        (adjacency[peer] ?? []).sorted()
    }

    /// The undirected links as index pairs of a shape over `count` peers.
    public static func links(_ shape: Shape, count: Int, seed: UInt64 = 1) -> [(Int, Int)] {
        guard count > 1 else { return [] }
        switch shape {
        case .fullMesh: return (0..<count).flatMap { a in (a + 1..<count).map { (a, $0) } }
        case .line: return (1..<count).map { ($0 - 1, $0) }
        case .ring: return (1..<count).map { ($0 - 1, $0) } + (count > 2 ? [(count - 1, 0)] : [])
        case .star: return (1..<count).map { (0, $0) }
        case .random(let degree):
            var random = SplitMix64(seed: seed)
            var pairs = Set(links(.ring, count: count).map { Pair($0.0, $0.1) })
            let target = max(pairs.count, count * degree / 2)
            while pairs.count < target && pairs.count < count * (count - 1) / 2 {
                let a = Int(random.next() % UInt64(count)), b = Int(random.next() % UInt64(count))
                if a != b { pairs.insert(Pair(a, b)) }
            }
            return pairs.sorted { ($0.a, $0.b) < ($1.a, $1.b) }.map { ($0.a, $0.b) }
        }
    }

    private struct Pair: Hashable { let a: Int, b: Int; init(_ x: Int, _ y: Int) { (a, b) = x < y ? (x, y) : (y, x) } }

    // MARK: - Events

    /// Links two live peers and tells both engines (their messages are queued).
    public mutating func connect(_ a: PeerName, _ b: PeerName) throws(MeshError) {
        guard a != b, engines[a] != nil, engines[b] != nil else { return }
        guard addLink(a, b) else { return }
        try updateConnections(of: a)
        try updateConnections(of: b)
    }

    /// Removes the link; both ends report the loss.
    public mutating func disconnect(_ a: PeerName, _ b: PeerName) throws(MeshError) {
        guard removeLink(a, b) else { return }
        try updateConnections(of: a)
        try updateConnections(of: b)
    }

    /// Stops a peer: its engine is gone, its links drop and its neighbours report the loss.
    public mutating func kill(_ peer: PeerName) throws(MeshError) {
        let neighbours = linkedPeers(of: peer)
        engines[peer] = nil
        for other in neighbours { removeLink(peer, other) }
        queue.removeAll { $0.to == peer }
        for other in neighbours { try updateConnections(of: other) }
    }

    /// Starts a (killed) peer again with a fresh engine and a new uid, no links.
    public mutating func restart(_ peer: PeerName) {
        guard let index = names.firstIndex(of: peer) else { return }
        engines[peer] = GossipEngine(identity: PeerIdentity(name: peer, nickname: "peer\(index)", uid: random.next()))
    }

    /// Links every pair of `shape` over all peers at once (messages are queued, not delivered).
    public mutating func build(_ shape: Shape, seed: UInt64 = 1) throws(MeshError) {
        for (a, b) in Self.links(shape, count: names.count, seed: seed) {
            addLink(names[a], names[b])
        }
        for name in names where engines[name] != nil { try updateConnections(of: name) }
    }

    /// Links every pair of `shape` and gives every engine the converged topology directly, as if
    /// gossip had finished, without any message (a starting point for measuring one change).
    public mutating func bootstrap(_ shape: Shape, seed: UInt64 = 1) {
        for (a, b) in Self.links(shape, count: names.count, seed: seed) {
            addLink(names[a], names[b])
        }
        var all: [PeerEntry] = []
        for name in names where engines[name] != nil {
            _ = engines[name]!.setLocalConnections(connections(of: name))
            all.append(engines[name]!.localEntry)
        }
        for name in names where engines[name] != nil { engines[name]!.install(all) }
    }

    private func connections(of peer: PeerName) -> [PeerConnection] {
        linkedPeers(of: peer).map { other in
            PeerConnection(peer: other, remoteAddress: "10.0.\(other.rawValue >> 8 & 0xff).\(other.rawValue & 0xff):6783", outbound: peer < other, established: true)
        }
    }

    mutating func updateConnections(of peer: PeerName) throws(MeshError) {
        guard engines[peer] != nil else { return }
        let output = engines[peer]!.setLocalConnections(connections(of: peer))
        try enqueue(output, from: peer)
    }

    private mutating func enqueue(_ output: GossipOutput, from peer: PeerName) throws(MeshError) {
        for send in output.sends {
            queue.append(InFlight(from: peer, to: send.peer, bytes: try send.message.encoded()))
        }
    }

    // MARK: - Running

    /// Delivers messages round by round until none is left (or `maximumRounds`); returns what
    /// this call carried. Messages over links that vanished are dropped.
    @discardableResult
    public mutating func deliverAll(maximumRounds: Int = 100_000) throws(MeshError) -> Statistics {
        var statistics = Statistics()
        while !queue.isEmpty && statistics.rounds < maximumRounds {
            statistics.rounds += 1
            let round = queue
            queue = []
            for message in round {
                guard links.contains(Link(message.from, message.to)), engines[message.to] != nil else { continue }
                let decoded = try GossipMessage(decoding: message.bytes)
                statistics.messages += 1
                statistics.bytes += message.bytes.readableBytes
                statistics.entries += decoded.entries.count
                statistics.patches += decoded.patches.count
                let output = engines[message.to]!.receive(decoded, from: message.from)
                try enqueue(output, from: message.to)
            }
        }
        totals = totals + statistics
        return statistics
    }

    /// Every live peer sends its anti-entropy digest to one random linked peer; then delivers.
    @discardableResult
    public mutating func antiEntropyRound() throws(MeshError) -> Statistics {
        for name in names where engines[name] != nil {
            let neighbours = linkedPeers(of: name)
            guard !neighbours.isEmpty else { continue }
            let target = neighbours[Int(random.next() % UInt64(neighbours.count))]
            queue.append(InFlight(from: name, to: target, bytes: try engines[name]!.antiEntropyMessage().encoded()))
        }
        return try deliverAll()
    }

    /// Advances the clock and runs every engine's garbage collection; returns the removals.
    @discardableResult
    public mutating func collectGarbage(advancing step: Duration, delay: Duration) -> [PeerName: [PeerName]] {
        now = now.advanced(by: step)
        var removed: [PeerName: [PeerName]] = [:]
        for name in names where engines[name] != nil {
            let gone = engines[name]!.collectGarbage(now: now, after: delay)
            if !gone.isEmpty { removed[name] = gone }
        }
        return removed
    }

    // MARK: - Checks

    /// The live peers joined to `peer` by links (its island), sorted.
    public func island(of peer: PeerName) -> [PeerName] {
        var seen: Set<PeerName> = [peer]
        var stack = [peer]
        while let next = stack.popLast() {
            for other in linkedPeers(of: next) where engines[other] != nil && seen.insert(other).inserted { stack.append(other) }
        }
        return seen.sorted()
    }

    /// True when every live peer holds, for each peer of its island, exactly that peer's own
    /// current entry.
    public func isConverged() -> Bool {
        var islandOf: [PeerName: [PeerName]] = [:]
        for name in engines.keys where islandOf[name] == nil {
            let island = island(of: name)
            for member in island { islandOf[member] = island }
        }
        for (name, engine) in engines {
            for member in islandOf[name]! where engine.entries[member] != engines[member]?.localEntry { return false }
        }
        return true
    }
}

/// A small deterministic generator (SplitMix64), so simulations repeat exactly.
struct SplitMix64: Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return ShortID.mix(state &- 0x9e37_79b9_7f4a_7c15)
    }
}

extension GossipEngine {
    /// Simulation only: holds `all` as if gossip had delivered them (the local entry stays ours).
    mutating func install(_ all: [PeerEntry]) {
        for entry in all where entry.name != localName { store(entry) }
    }
}

extension MeshSimulation {
    /// Test hook: replaces a live peer's engine (for example to force a short ID).
    mutating func replaceEngine(_ engine: GossipEngine) { engines[engine.localName] = engine }

    /// Test hook: restarts a peer in place (new uid, fresh engine) without dropping its links,
    /// as if it restarted faster than anyone noticed.
    mutating func restartKeepingLinks(_ peer: PeerName) {
        guard let index = names.firstIndex(of: peer) else { return }
        engines[peer] = GossipEngine(identity: PeerIdentity(name: peer, nickname: "peer\(index)", uid: random.next()))
    }

    /// Test hook: makes a peer report its current links.
    mutating func reportConnections(of peer: PeerName) throws(MeshError) { try updateConnections(of: peer) }

    /// Test hook: loses every message in flight.
    mutating func dropQueuedMessages() { queue.removeAll() }
}
