/// Benchmark-oriented measurements over ``MeshSimulation`` (what `cnilab bench mesh` reports).
extension MeshSimulation {
    /// The cost of one topology change in an already converged mesh.
    public struct ChangeMeasurement: Hashable, Sendable, Codable {
        public var peerCount: Int
        /// Connections in the mesh before the change.
        public var linkCount: Int
        /// True when the change added a connection, false when it removed one (full mesh).
        public var added: Bool
        /// Traffic network-wide until no message was left.
        public var traffic: Statistics
        /// Whether every peer held every entry afterwards (without anti-entropy).
        public var converged: Bool
        /// Wall time of the simulation (encode, decode, apply, forward on one thread).
        public var elapsed: Duration
    }

    /// Builds a converged `shape` mesh of `peerCount` peers directly (no traffic), then adds one
    /// connection between two peers that were not linked (in a full mesh: removes one) and
    /// measures the gossip it causes.
    public static func measureConnectionChange(peerCount: Int, shape: Shape = .random(degree: 6), seed: UInt64 = 1) throws(MeshError) -> ChangeMeasurement {
        var simulation = MeshSimulation(peerCount: peerCount, seed: seed, distinctShortIDs: true)
        simulation.bootstrap(shape, seed: seed)
        let linkCount = simulation.links.count
        var random = SplitMix64(seed: seed ^ 0xc0ffee)
        var pair: (PeerName, PeerName)?
        if linkCount < peerCount * (peerCount - 1) / 2 {
            while pair == nil {
                let a = simulation.names[Int(random.next() % UInt64(peerCount))]
                let b = simulation.names[Int(random.next() % UInt64(peerCount))]
                if a != b && !simulation.linkedPeers(of: a).contains(b) { pair = (a, b) }
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        if let (a, b) = pair {
            try simulation.connect(a, b)
        } else if peerCount > 1 {
            try simulation.disconnect(simulation.names[0], simulation.names[peerCount - 1])
        }
        let traffic = try simulation.deliverAll()
        let elapsed = clock.now - start
        return ChangeMeasurement(peerCount: peerCount, linkCount: linkCount, added: pair != nil, traffic: traffic, converged: simulation.isConverged(), elapsed: elapsed)
    }

    /// Convergence of a mesh started from nothing: every peer knows only itself, all
    /// connections come up at once.
    public struct ColdStartMeasurement: Hashable, Sendable, Codable {
        public var peerCount: Int
        public var linkCount: Int
        /// Traffic of the pushes and digest exchanges the connections caused.
        public var traffic: Statistics
        /// Anti-entropy rounds needed after that (0 when push alone converged).
        public var antiEntropyRounds: Int
        public var converged: Bool
        public var elapsed: Duration
    }

    /// Starts `peerCount` peers, links them as `shape` and delivers until quiet, then runs
    /// anti-entropy rounds (at most `maximumAntiEntropyRounds`) until converged.
    public static func measureColdStart(peerCount: Int, shape: Shape = .random(degree: 6), seed: UInt64 = 1, maximumAntiEntropyRounds: Int = 20) throws(MeshError) -> ColdStartMeasurement {
        var simulation = MeshSimulation(peerCount: peerCount, seed: seed)
        let clock = ContinuousClock()
        let start = clock.now
        try simulation.build(shape, seed: seed)
        var traffic = try simulation.deliverAll()
        var rounds = 0
        while !simulation.isConverged() && rounds < maximumAntiEntropyRounds {
            rounds += 1
            traffic = traffic + (try simulation.antiEntropyRound())
        }
        let elapsed = clock.now - start
        return ColdStartMeasurement(peerCount: peerCount, linkCount: simulation.links.count, traffic: traffic, antiEntropyRounds: rounds, converged: simulation.isConverged(), elapsed: elapsed)
    }
}
