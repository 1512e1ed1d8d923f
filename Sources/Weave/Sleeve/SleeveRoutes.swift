/// Seals and opens the datagrams exchanged with one neighbour: the agent hands the mesh
/// connection's data-channel keys in through this (per direction, sequence nonces, replay
/// window), so the sleeve has no cryptography of its own.
public protocol SleeveCipher: Sendable {
    /// Bytes a sealed record adds to its plaintext.
    var overhead: Int { get }
    /// `plaintext` sealed into one record.
    func seal(_ plaintext: UnsafeRawBufferPointer) -> [UInt8]
    /// The plaintext of one record, or why it was rejected (a drop reason for the counters).
    func open(_ record: UnsafeRawBufferPointer) -> Result<[UInt8], SleeveDrop>
}

/// Where the sleeve sends frames: what the agent derives from the mesh (its unicast routes,
/// its connections and the path chosen per peer) and hands to ``Sleeve/update(_:)``. A value;
/// the sleeve's threads read the latest one per batch.
public struct SleeveRoutes: Sendable {
    /// A directly connected peer: where its sleeve listens, and how data to it is sealed.
    public struct Neighbour: Sendable {
        /// Its underlay IPv4 address (host order).
        public var address: UInt32
        public var port: UInt16
        /// Set when data to and from it is encrypted (a mesh secret, and not both trusted).
        public var cipher: (any SleeveCipher)?

        public init(address: UInt32, port: UInt16 = UInt16(WeaveNames.controlPort), cipher: (any SleeveCipher)? = nil) {
            self.address = address
            self.port = port
            self.cipher = cipher
        }
    }

    /// The local peer.
    public var local: UInt64
    /// The directly connected peers.
    public var neighbours: [UInt64: Neighbour]
    /// The next hop (a neighbour) towards each reachable peer.
    public var nextHops: [UInt64: UInt64]
    /// The reachable peers whose frames go over the sleeve (every other peer is on the fast
    /// path): broadcasts and unknown unicast from the local bridge go to each of them once.
    public var sleevePeers: [UInt64]

    public init(local: UInt64, neighbours: [UInt64: Neighbour] = [:], nextHops: [UInt64: UInt64] = [:], sleevePeers: [UInt64] = []) {
        self.local = local
        self.neighbours = neighbours
        self.nextHops = nextHops
        self.sleevePeers = sleevePeers
    }

    /// The peers a frame from the local bridge goes to: its owner when the destination MAC is
    /// a known unicast address of a sleeve peer; none when the owner is known and not on the
    /// sleeve (the fast path or the local bridge carries it); every sleeve peer otherwise
    /// (broadcast, multicast, unknown unicast).
    public func destinations(destinationMAC: UInt64, owner: UInt64?) -> Destinations {
        if !EthernetFrame.isGroup(destinationMAC), let owner {
            return sleevePeers.contains(owner) ? .one(owner) : .none
        }
        return sleevePeers.isEmpty ? .none : .all
    }

    public enum Destinations: Hashable, Sendable {
        case none
        case one(UInt64)
        /// Every peer of ``SleeveRoutes/sleevePeers``.
        case all
    }

    /// The neighbour that takes a frame for `destination` next, and its entry; nil without a
    /// route.
    public func hop(towards destination: UInt64) -> (peer: UInt64, neighbour: Neighbour)? {
        guard let next = nextHops[destination], let neighbour = neighbours[next] else { return nil }
        return (next, neighbour)
    }

    /// The neighbour that sent a datagram from `address`, if `sender` is one and lives there.
    public func neighbour(_ sender: UInt64, at address: UInt32) -> Neighbour? {
        guard let neighbour = neighbours[sender], neighbour.address == address else { return nil }
        return neighbour
    }
}

/// Why the sleeve dropped a frame or datagram (the `reason` of its drop counter).
public enum SleeveDrop: String, Error, CaseIterable, Hashable, Sendable, Codable {
    /// Not a sleeve datagram, or a truncated one.
    case malformed
    /// From an address that is not the named neighbour's.
    case unknownSender
    /// No route to its destination (yet, or any more).
    case noRoute
    /// It crossed too many relays (a loop while routes converge).
    case hopLimit
    /// Too large for the sleeve at the underlay MTU.
    case tooLarge
    /// A sealed datagram that failed authentication.
    case tampered
    /// A sealed datagram seen already (or older than the replay window).
    case replayed
    /// Plain data from a neighbour that must encrypt, or sealed data from one that must not.
    case encryptionMismatch
    /// For the local bridge from a peer whose data takes the fast path (a pair changing path:
    /// delivering it would teach the bridge the old path again).
    case wrongPath
    /// The kernel refused to send it or to take it into the TAP port.
    case sendFailed
    /// A unit given up because one of its chunks never arrived.
    case incomplete
}
