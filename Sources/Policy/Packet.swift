import NetPrimitives

/// One end of a packet: a known endpoint, or an address (which may still belong to an
/// endpoint or a node).
public enum PacketPeer: Hashable, Sendable, CustomStringConvertible {
    case endpoint(EndpointID)
    case address(IPAddress)

    /// `.endpoint` for `"namespace/name"`.
    public static func pod(_ namespace: String, _ name: String) -> PacketPeer {
        .endpoint(EndpointID(namespace: namespace, name: name))
    }

    public var description: String {
        switch self {
        case let .endpoint(id): id.description
        case let .address(address): address.description
        }
    }
}

/// The packet to decide: who sends to whom, protocol and ports.
///
/// A packet with ``isReply`` belongs to the reply direction of a connection opened from
/// ``destination`` to ``source`` (to its ``sourcePort``): it is allowed exactly when that
/// connection is (policy is stateful).
public struct Packet: Hashable, Sendable, Encodable, CustomStringConvertible {
    public var source: PacketPeer
    public var destination: PacketPeer
    public var `protocol`: TransportProtocol
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var isReply: Bool

    public init(
        from source: PacketPeer, to destination: PacketPeer, protocol: TransportProtocol = .tcp,
        port destinationPort: UInt16? = nil, sourcePort: UInt16? = nil, isReply: Bool = false
    ) {
        self.source = source
        self.destination = destination
        self.protocol = `protocol`
        self.destinationPort = destinationPort
        self.sourcePort = sourcePort
        self.isReply = isReply
    }

    /// The packet of the opposite direction (a reply when this one is not, and vice versa).
    public var reversed: Packet {
        Packet(from: destination, to: source, protocol: `protocol`, port: sourcePort, sourcePort: destinationPort,
               isReply: !isReply)
    }

    public var description: String {
        var text = "\(source) -> \(destination) \(`protocol`)"
        if let destinationPort { text += "/\(destinationPort)" }
        if isReply { text += " (reply)" }
        return text
    }
}

/// A resolved packet end: its address and, when the address is a pod's, the endpoint.
public struct ResolvedPeer: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var endpoint: Endpoint?

    public var description: String {
        if let endpoint { return "\(endpoint.id) (\(address))" }
        return address.description
    }
}

extension ClusterState {
    /// Resolves both ends of `packet` to addresses of one family and their endpoints.
    public func resolve(_ packet: Packet) throws -> (source: ResolvedPeer, destination: ResolvedPeer) {
        func endpoint(_ id: EndpointID) throws -> Endpoint {
            guard let endpoint = self[id] else { throw PolicyError(.unknownEndpoint, "no endpoint \(id) in the cluster state") }
            return endpoint
        }
        func addressFamily(of peer: PacketPeer) -> IPAddress.Family? {
            if case let .address(address) = peer { return address.family }
            return nil
        }
        let family: IPAddress.Family
        if let known = addressFamily(of: packet.source) ?? addressFamily(of: packet.destination) {
            family = known
        } else if case let .endpoint(sourceID) = packet.source, case let .endpoint(destinationID) = packet.destination {
            let sourceFamilies = Set(try endpoint(sourceID).addresses.map(\.family))
            let destinationFamilies = Set(try endpoint(destinationID).addresses.map(\.family))
            let common = sourceFamilies.intersection(destinationFamilies)
            guard let chosen = common.contains(.v4) ? .v4 : common.first else {
                throw PolicyError(.invalidValue, "\(sourceID) and \(destinationID) share no address family")
            }
            family = chosen
        } else {
            family = .v4
        }
        func resolve(_ peer: PacketPeer) throws -> ResolvedPeer {
            switch peer {
            case let .address(address):
                guard address.family == family else {
                    throw PolicyError(.invalidValue, "packet \(packet) mixes address families")
                }
                return ResolvedPeer(address: address, endpoint: self.endpoint(owning: address))
            case let .endpoint(id):
                let found = try endpoint(id)
                guard let address = found.address(family: family) else {
                    throw PolicyError(.invalidValue, "\(id) has no \(family) address")
                }
                return ResolvedPeer(address: address, endpoint: found)
            }
        }
        return (try resolve(packet.source), try resolve(packet.destination))
    }
}
