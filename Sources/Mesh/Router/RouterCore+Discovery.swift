import NetPrimitives

extension RouterCore {
    /// An address dialed on request from now on: discovery no longer adds or forgets it.
    mutating func addDirect(_ address: MeshPeerAddress) {
        directAddresses.insert(address)
        discovered.remove(address)
    }

    /// Discovery as Weave's connection maker does it: for every peer we are not connected to,
    /// the addresses others reach it on (an outbound connection's remote address is where that
    /// peer listens; an inbound one only gives its IP, with the default port). Targets no longer
    /// advertised, or whose peer is now connected to us, are forgotten. New targets are added
    /// only while connections plus targets stay under the connection limit.
    mutating func rediscover() -> [Action] {
        let connected = Set(connections.keys)
        var wanted: [MeshPeerAddress: PeerName] = [:]
        for entry in engine.entries.values where entry.name != localName {
            for connection in entry.connections where connection.peer != localName && !connected.contains(connection.peer) {
                guard let address = Self.address(connection.remoteAddress, outbound: connection.outbound, defaultPort: options.defaultPort) else {
                    continue
                }
                guard !directAddresses.contains(address) else { continue }
                wanted[address] = connection.peer
            }
        }
        var actions: [Action] = []
        for address in discovered.sorted() where wanted[address] == nil {
            discovered.remove(address)
            actions.append(.forget(address))
        }
        for address in wanted.keys.sorted() where !discovered.contains(address) {
            guard connections.count + discovered.count < options.connectionLimit else { break }
            discovered.insert(address)
            actions.append(.connect(address))
        }
        return actions
    }

    /// "192.0.2.7:6783" or "[2001:db8::1]:6783"; an inbound connection's port is replaced by `defaultPort`.
    static func address(_ text: String, outbound: Bool, defaultPort: Int) -> MeshPeerAddress? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[close...].dropFirst(2)
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let ip = try? IPAddress(parsing: host), let port = Int(portText), (1...65535).contains(port) else { return nil }
        return MeshPeerAddress(ip, port: outbound ? port : defaultPort)
    }
}
