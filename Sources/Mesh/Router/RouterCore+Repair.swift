extension RouterCore {
    /// A reachable peer whose gossip we apparently lack, if any: a peer named in a reachable
    /// peer's connection list that we hold no entry for, or an established connection between
    /// two reachable peers that only one end reports (we hold an old entry of the other).
    /// Push gossip along broadcast trees can miss such entries while the views of the peers
    /// differ (a cold start, a partition healing); a digest exchange brings them. Returns the
    /// reachable peer that told us (the digest goes towards it).
    func missingGossipHint() -> PeerName? {
        let entries = engine.entries
        var reachable = Set(routes.unicast.keys)
        reachable.insert(localName)
        for name in reachable.sorted() {
            guard let entry = entries[name] else { continue }
            for connection in entry.connections where connection.established {
                guard let other = entries[connection.peer] else { return name }
                guard reachable.contains(connection.peer) else { continue }
                if !other.connections.contains(where: { $0.peer == name && $0.established }) { return name }
            }
        }
        return nil
    }

    /// A digest towards whoever hinted that we lack gossip (its next hop, or itself when it is
    /// a neighbour); nothing when the view looks complete.
    mutating func repair() -> [Action] {
        guard let hint = missingGossipHint() else { return [] }
        let peer = hint == localName ? connections.keys.min() : (connections[hint] != nil ? hint : routes.nextHop(to: hint))
        guard let peer else { return [] }
        return antiEntropy(to: peer)
    }
}
