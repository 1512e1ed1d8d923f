// Where the engine forwards a new entry: along the owner's broadcast tree (cached per owner
// and topology), or to every neighbour while the view is incomplete.
extension GossipEngine {
    /// Where a new entry (or patch) of `owner` goes: our children in `owner`'s broadcast tree and
    /// connected peers not yet two-way in our view, or all connected peers when `owner` cannot
    /// reach us; never the sender or the owner. Cached per owner until the topology changes
    /// (``routingGeneration``), so the many entries and patches one topology state forwards
    /// cost one tree per owner.
    mutating func forwardTargets(owner: PeerName, from sender: PeerName) -> [PeerName] {
        if floodsWhileViewIncomplete, graph.unmatchedReports > 0 {
            return connectedPeers.filter { $0 != sender && $0 != owner }
        }
        invalidateForwardCacheIfStale()
        let targets: [PeerName]
        if let cached = forwardCache[owner] {
            targets = cached
        } else {
            let connected = connectedPeers
            if let children = graph.broadcastChildren(of: localName, origin: owner) {
                let twoWay = Set(graph.neighbours(of: localName))
                targets = children + connected.filter { !twoWay.contains($0) }
            } else {
                targets = connected
            }
            forwardCache[owner] = targets
        }
        return targets.filter { $0 != sender && $0 != owner }
    }

    mutating func invalidateForwardCacheIfStale() {
        guard forwardCacheGeneration != routingGeneration else { return }
        forwardCache.removeAll(keepingCapacity: true)
        forwardCacheGeneration = routingGeneration
    }

    /// Before forwarding many owners' entries under one topology (a batch of updates): every
    /// owner's targets from one pass over the trees of the peers within two hops
    /// (``TopologyGraph/broadcastChildrenByOrigin(of:)``, a few dozen traversals) instead of
    /// one traversal per owner.
    mutating func prepareForwardTargets(owners: Int) {
        invalidateForwardCacheIfStale()
        guard owners >= 16, !(floodsWhileViewIncomplete && graph.unmatchedReports > 0), forwardCache.count < owners else { return }
        let connected = connectedPeers
        let twoWay = Set(graph.neighbours(of: localName))
        let notTwoWay = connected.filter { !twoWay.contains($0) }
        let children = graph.broadcastChildrenByOrigin(of: localName)
        for name in entries.keys where forwardCache[name] == nil {
            forwardCache[name] = children[name].map { $0 + notTwoWay } ?? connected
        }
    }
}
