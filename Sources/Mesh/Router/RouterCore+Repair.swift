extension RouterCore {
    /// A reachable peer whose gossip we apparently lack, if any: a peer named in a reachable
    /// peer's connection list that we hold no entry for, or an established connection between
    /// two reachable peers that only one end reports (we hold an old entry of the other).
    /// Push gossip along broadcast trees can miss such entries while the views of the peers
    /// differ (a cold start, a partition healing); a digest exchange brings them. Returns the
    /// reachable peer most likely to hold what we lack (the digest goes towards it): the one
    /// that named the unknown peer, or the end whose entry looks old.
    func missingGossipHint() -> PeerName? {
        let entries = engine.entries
        var reachable = Set(routes.unicast.keys)
        reachable.insert(localName)
        for name in reachable.sorted() {
            guard let entry = entries[name] else { continue }
            for connection in entry.connections where connection.established {
                guard let other = entries[connection.peer] else { return name }
                guard reachable.contains(connection.peer) else { continue }
                if !other.connections.contains(where: { $0.peer == name && $0.established }) { return connection.peer }
            }
        }
        return nil
    }

    /// A digest towards the peer ``missingGossipHint()`` names (its next hop, or itself when it
    /// is a neighbour), or to a random neighbour on a retry (`anyNeighbour`), so a neighbour
    /// as uninformed as we are is not asked again and again; nothing when the view looks complete.
    mutating func repair(anyNeighbour: Bool = false) -> [Action] {
        guard let hint = missingGossipHint() else { return [] }
        let towards = hint == localName || anyNeighbour ? nil : (connections[hint] != nil ? hint : routes.nextHop(to: hint))
        let peer = towards ?? connections.keys.randomElement()
        guard let peer else { return [] }
        return antiEntropy(to: peer)
    }
}
