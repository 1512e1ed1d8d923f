extension RouterCore {
    /// One gap in the local view: the entry of ``wanted`` looks missing or old, and ``near`` is
    /// the reachable peer most likely to hold a newer one (the peer that names ``wanted``, or
    /// ``wanted`` itself).
    struct GossipGap: Hashable, Sendable {
        var wanted: PeerName
        var near: PeerName
    }

    /// Entries we apparently lack, at most `limit`: a peer named in a reachable peer's
    /// connection list that we hold no entry for, or an established connection between two
    /// reachable peers that only one end reports (we hold an old entry of the other end).
    /// Push gossip along broadcast trees can miss such entries while the views of the peers
    /// differ (a cold start, a partition healing). Reachable peers are visited by name, so the
    /// first gap is the same on every call for the same view.
    func gossipGaps(limit: Int = .max) -> [GossipGap] {
        engine.graph.oneSidedReports(from: localName, limit: limit).map { GossipGap(wanted: $0.wanted, near: $0.near) }
    }

    /// A reachable peer whose gossip we apparently lack, if any (the first gap's ``GossipGap/near``
    /// peer): the one that named an unknown peer, or the end of a one-sided connection whose
    /// entry looks old. The repair goes towards it.
    func missingGossipHint() -> PeerName? { gossipGaps(limit: 1).first?.near }

    /// ``missingGossipHint()``, computed again only when the entries or the routes changed
    /// since the last call (the shell asks after every recalculation and repair).
    mutating func currentMissingGossipHint() -> PeerName? {
        if let cached = cachedHint, cached.topology == engine.topologyGeneration, cached.routes == routesGeneration {
            return cached.hint
        }
        let hint = missingGossipHint()
        cachedHint = (engine.topologyGeneration, routesGeneration, hint)
        return hint
    }

    /// The most entries one aimed repair asks for.
    static let aimedRepairLimit = 64

    /// Repairs a view that looks incomplete; nothing when it looks complete. The first attempt
    /// for a gap is aimed: each neighbour on the way to a gap's ``GossipGap/near`` peer is asked
    /// for exactly the entries wanted there (a few bytes per entry, answered with those entries
    /// only). Later attempts send our digest (the answer brings whatever we lack): towards the
    /// hinted peer on the second, then to a random neighbour, so a neighbour as uninformed as we
    /// are is not asked again and again.
    mutating func repair(attempt: Int = 1) -> [Action] {
        guard let hint = currentMissingGossipHint() else { return [] }
        if attempt == 0 {
            var wanted: [PeerName: [PeerName]] = [:]
            for gap in gossipGaps(limit: Self.aimedRepairLimit) where gap.near != localName && gap.wanted != localName {
                guard let via = connections[gap.near] != nil ? gap.near : routes.nextHop(to: gap.near) else { continue }
                if wanted[via]?.contains(gap.wanted) != true { wanted[via, default: []].append(gap.wanted) }
            }
            let actions = wanted.keys.sorted().flatMap { peer in wants(wanted[peer]!, from: peer) }
            if !actions.isEmpty { return actions }
        }
        let towards = hint == localName || attempt > 1 ? nil : (connections[hint] != nil ? hint : routes.nextHop(to: hint))
        let peer = towards ?? connections.keys.randomElement()
        guard let peer else { return [] }
        return antiEntropy(to: peer)
    }

    /// Asks the neighbour `peer` for its entries of `names`.
    private mutating func wants(_ names: [PeerName], from peer: PeerName) -> [Action] {
        let message = GossipMessage(wants: names)
        guard connections[peer] != nil, let bytes = try? message.encoded() else { return [] }
        let payload = Array(bytes.readableBytesView)
        count(message, bytes: payload.count)
        return [.send(peer: peer, channel: options.topologyChannel, payload: payload)]
    }
}
