/// The header of one sleeve datagram (UDP 6783) of wire format version 1, 21 bytes, then the
/// Ethernet frame (the sleeve now sends version 2, ``SleeveChunk``; the first nine bytes, the
/// clear part, are common to both):
///
/// ```
/// magic 0x57 ‖ kind ‖ hops left ‖ sender (6) ‖ origin (6) ‖ destination (6) ‖ frame
/// ```
///
/// `sender` is the neighbour that sent this datagram (a relay rewrites it), `origin` the peer
/// whose bridge the frame came from, `destination` the peer whose bridge it goes into. Peers
/// are the mesh's 48-bit peer names. In a sealed datagram (``Kind/sealedFrame``) everything
/// after `sender` is one record sealed with the sender's data-channel key to its neighbour.
/// Heartbeats carry padding instead of a frame, so they are as large as the largest frame.
public struct SleeveHeader: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable {
        case frame = 1
        case sealedFrame = 2
        case heartbeat = 3
        case heartbeatAcknowledgement = 4
        /// A chunk of a unit (wire format version 2, see ``SleeveChunk``).
        case chunk = 5
        /// A chunk of a sealed unit.
        case sealedChunk = 6
    }

    public static let magic: UInt8 = 0x57
    public static let size = 21
    /// The bytes before the part a sealed datagram seals (magic, kind, hops, sender).
    public static let clearSize = 9
    /// How many relays a frame may cross before it is dropped (a loop while routes converge).
    public static let initialHops: UInt8 = 16

    public var kind: Kind
    public var hopsLeft: UInt8
    public var sender: UInt64
    public var origin: UInt64
    public var destination: UInt64

    public init(kind: Kind, hopsLeft: UInt8 = SleeveHeader.initialHops, sender: UInt64, origin: UInt64, destination: UInt64) {
        self.kind = kind
        self.hopsLeft = hopsLeft
        self.sender = sender
        self.origin = origin
        self.destination = destination
    }

    /// Writes the header at the start of `buffer` (at least ``size`` bytes).
    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.size)
        buffer[0] = Self.magic
        buffer[1] = kind.rawValue
        buffer[2] = hopsLeft
        Self.writePeer(sender, to: buffer, at: 3)
        Self.writePeer(origin, to: buffer, at: 9)
        Self.writePeer(destination, to: buffer, at: 15)
    }

    /// The header as bytes (tests, heartbeats).
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.size) { buffer, count in
            write(to: UnsafeMutableRawBufferPointer(buffer))
            count = Self.size
        }
    }

    /// Reads a header; nil when the bytes are too short, not a sleeve datagram or of an unknown
    /// kind. For a sealed datagram only the clear part is read (origin and destination are 0).
    public init?(reading buffer: UnsafeRawBufferPointer) {
        guard buffer.count >= Self.clearSize, buffer[0] == Self.magic, let kind = Kind(rawValue: buffer[1]) else { return nil }
        self.kind = kind
        hopsLeft = buffer[2]
        sender = Self.readPeer(buffer, at: 3)
        if kind == .sealedFrame || kind == .chunk || kind == .sealedChunk {
            origin = 0
            destination = 0
            return
        }
        guard buffer.count >= Self.size else { return nil }
        origin = Self.readPeer(buffer, at: 9)
        destination = Self.readPeer(buffer, at: 15)
    }

    static func writePeer(_ peer: UInt64, to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        for index in 0..<6 { buffer[offset + index] = UInt8(truncatingIfNeeded: peer >> UInt64(40 - 8 * index)) }
    }

    static func readPeer(_ buffer: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<6 { value = value << 8 | UInt64(buffer[offset + index]) }
        return value
    }
}

/// Ethernet addresses as the sleeve reads them off a frame (48 bits in a UInt64).
public enum EthernetFrame {
    public static let headerSize = 14

    /// The destination MAC of `frame` (its first six bytes); nil when it is too short.
    public static func destination(_ frame: UnsafeRawBufferPointer) -> UInt64? {
        frame.count >= headerSize ? SleeveHeader.readPeer(frame, at: 0) : nil
    }

    /// The source MAC of `frame`; nil when it is too short.
    public static func source(_ frame: UnsafeRawBufferPointer) -> UInt64? {
        frame.count >= headerSize ? SleeveHeader.readPeer(frame, at: 6) : nil
    }

    /// Broadcast and multicast addresses (the group bit of the first byte).
    public static func isGroup(_ mac: UInt64) -> Bool { (mac >> 40) & 1 == 1 }
}
