extension MeshError.Code {
    /// A routed message's destination has no route from here (unknown, or not reachable over
    /// two-way established connections).
    public static let unreachable = MeshError.Code("unreachable")
}

extension RouterCore {
    /// Sends `payload` on `channel` to `destination` over the unicast routes. The local peer
    /// as destination delivers locally; an unreachable one throws ``MeshError/Code/unreachable``.
    mutating func send(_ payload: [UInt8], channel: String, to destination: PeerName) throws(MeshError) -> [Action] {
        let message = MeshRoutedMessage(origin: localName, destination: .peer(destination), channel: channel, payload: payload)
        let bytes = try message.encoded()
        if destination == localName {
            counters.routedDelivered += 1
            return [.deliver(message)]
        }
        var actions = recalculateIfPending()
        guard let nextHop = routes.nextHop(to: destination) else {
            counters.routedNoRoute += 1
            throw MeshError(.unreachable, "no route from \(localName) to \(destination)")
        }
        counters.routedSent += 1
        actions.append(.send(peer: nextHop, channel: MeshRoutedMessage.connectionChannel, payload: bytes))
        return actions
    }

    /// Sends `payload` on `channel` to every reachable peer (not to the local one) along the
    /// local peer's broadcast tree.
    mutating func broadcast(_ payload: [UInt8], channel: String) throws(MeshError) -> [Action] {
        let message = MeshRoutedMessage(origin: localName, destination: .broadcast, channel: channel, payload: payload)
        let bytes = try message.encoded()
        var actions = recalculateIfPending()
        counters.routedSent += 1
        for peer in routes.broadcastNextHops(from: localName) {
            actions.append(.send(peer: peer, channel: MeshRoutedMessage.connectionChannel, payload: bytes))
        }
        return actions
    }

    /// A routed message from neighbour `sender`: deliver it here, relay it, or both (broadcast).
    mutating func receivedRouted(_ payload: [UInt8], from sender: PeerName, now: Instant) -> [Action] {
        var message: MeshRoutedMessage
        do { message = try MeshRoutedMessage(decoding: payload) } catch {
            counters.routedMalformed += 1
            return []
        }
        var actions = recalculateIfPending()
        switch message.destination {
        case .peer(let destination) where destination == localName:
            counters.routedDelivered += 1
            actions.append(.deliver(message))
        case .peer(let destination):
            guard message.hopLimit > 1 else {
                counters.routedHopLimit += 1
                return actions
            }
            guard let nextHop = routes.nextHop(to: destination) else {
                counters.routedNoRoute += 1
                return actions
            }
            message.hopLimit -= 1
            guard let bytes = try? message.encoded() else { return actions }
            counters.routedRelayed += 1
            actions.append(.send(peer: nextHop, channel: MeshRoutedMessage.connectionChannel, payload: bytes))
        case .broadcast:
            guard message.origin != localName else { return actions }
            counters.routedDelivered += 1
            actions.append(.deliver(message))
            guard message.hopLimit > 1 else {
                counters.routedHopLimit += 1
                return actions
            }
            message.hopLimit -= 1
            guard let bytes = try? message.encoded() else { return actions }
            let next = routes.broadcastNextHops(from: message.origin).filter { $0 != sender && $0 != message.origin }
            if !next.isEmpty { counters.routedRelayed += 1 }
            for peer in next {
                actions.append(.send(peer: peer, channel: MeshRoutedMessage.connectionChannel, payload: bytes))
            }
        }
        return actions
    }
}
