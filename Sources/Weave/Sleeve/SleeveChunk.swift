/// One chunk of a sleeve unit: version 2 of the sleeve's wire format (datagram kinds 5 and 6).
///
/// A *unit* is what the bridge's TAP port hands over in one read: with offloads that is a GSO
/// super-frame of up to 64 KiB, so one unit carries what would otherwise be dozens of frames.
/// Its bytes are
///
/// ```
/// origin (6) ‖ destination (6) ‖ virtio_net_hdr (10) ‖ Ethernet frame
/// ```
///
/// and, between neighbours that encrypt, the whole unit is sealed once into one record (the
/// mesh's data-channel keys: generation, sequence, ciphertext, tag). The unit (plain) or the
/// record (sealed) is then cut into chunks that fit one UDP datagram each, every chunk with
/// this 25-byte header:
///
/// ```
/// magic 0x57 ‖ kind (5 plain, 6 sealed) ‖ hops left ‖ sender (6) ‖
/// unit (4) ‖ index (2) ‖ count (2) ‖ offset (4) ‖ total (4) ‖ chunk bytes
/// ```
///
/// All numbers are big-endian. `sender` is the neighbour that sent the datagram; `unit` numbers
/// the sender's units; `offset` is where the chunk's bytes go in the unit of `total` bytes.
/// The receiver reassembles a unit from its `count` chunks (``SleeveReassembly``) and drops it
/// when a chunk never arrives. A relay reassembles, opens, seals again for its next hop and
/// cuts new chunks (each hop has its own keys).
public struct SleeveChunk: Hashable, Sendable {
    public static let size = 25
    /// The most chunks one unit may have.
    public static let maximumCount = 128
    /// The largest unit (a 64 KiB super-frame with its prefix, virtio header and record overhead).
    public static let maximumUnit = 65_536 + 256

    public var sealed: Bool
    public var hopsLeft: UInt8
    public var sender: UInt64
    public var unit: UInt32
    public var index: UInt16
    public var count: UInt16
    public var offset: UInt32
    public var total: UInt32

    public init(sealed: Bool, hopsLeft: UInt8 = SleeveHeader.initialHops, sender: UInt64, unit: UInt32,
                index: UInt16, count: UInt16, offset: UInt32, total: UInt32) {
        self.sealed = sealed
        self.hopsLeft = hopsLeft
        self.sender = sender
        self.unit = unit
        self.index = index
        self.count = count
        self.offset = offset
        self.total = total
    }

    /// Writes the header at the start of `buffer` (at least ``size`` bytes).
    public func write(to buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count >= Self.size)
        buffer[0] = SleeveHeader.magic
        buffer[1] = (sealed ? SleeveHeader.Kind.sealedChunk : .chunk).rawValue
        buffer[2] = hopsLeft
        SleeveHeader.writePeer(sender, to: buffer, at: 3)
        Self.write(UInt64(unit), bytes: 4, to: buffer, at: 9)
        Self.write(UInt64(index), bytes: 2, to: buffer, at: 13)
        Self.write(UInt64(count), bytes: 2, to: buffer, at: 15)
        Self.write(UInt64(offset), bytes: 4, to: buffer, at: 17)
        Self.write(UInt64(total), bytes: 4, to: buffer, at: 21)
    }

    /// The header as bytes (tests).
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Self.size) { buffer, count in
            write(to: UnsafeMutableRawBufferPointer(buffer))
            count = Self.size
        }
    }

    /// Reads the header of a chunk datagram and checks it against the datagram's length; nil
    /// when it is not a chunk, is truncated, or its numbers do not fit together (index beyond
    /// count, bytes beyond total, a unit larger than ``maximumUnit``).
    public init?(reading datagram: UnsafeRawBufferPointer) {
        guard datagram.count > Self.size, datagram[0] == SleeveHeader.magic,
              let kind = SleeveHeader.Kind(rawValue: datagram[1]), kind == .chunk || kind == .sealedChunk else { return nil }
        sealed = kind == .sealedChunk
        hopsLeft = datagram[2]
        sender = SleeveHeader.readPeer(datagram, at: 3)
        unit = UInt32(Self.read(datagram, bytes: 4, at: 9))
        index = UInt16(Self.read(datagram, bytes: 2, at: 13))
        count = UInt16(Self.read(datagram, bytes: 2, at: 15))
        offset = UInt32(Self.read(datagram, bytes: 4, at: 17))
        total = UInt32(Self.read(datagram, bytes: 4, at: 21))
        let length = datagram.count - Self.size
        guard count >= 1, Int(count) <= Self.maximumCount, index < count, total >= 1, Int(total) <= Self.maximumUnit,
              Int(offset) + length <= Int(total) else { return nil }
    }

    /// How many chunks a unit of `length` bytes takes with `chunkSize` bytes per chunk.
    public static func count(unitLength length: Int, chunkSize: Int) -> Int { (length + chunkSize - 1) / chunkSize }

    private static func write(_ value: UInt64, bytes: Int, to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        for index in 0..<bytes { buffer[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(8 * (bytes - 1 - index))) }
    }

    private static func read(_ buffer: UnsafeRawBufferPointer, bytes: Int, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<bytes { value = value << 8 | UInt64(buffer[offset + index]) }
        return value
    }
}

/// The layout of a unit's plaintext (see ``SleeveChunk``).
public enum SleeveUnit {
    /// Origin and destination peer.
    public static let prefixSize = 12
    /// The virtio_net_hdr the TAP device reads and writes before each frame.
    public static let virtioHeaderSize = 10
    /// Prefix, virtio header and the smallest Ethernet frame.
    public static let minimumSize = prefixSize + virtioHeaderSize + EthernetFrame.headerSize

    public static func writePrefix(origin: UInt64, destination: UInt64, to unit: UnsafeMutableRawBufferPointer) {
        SleeveHeader.writePeer(origin, to: unit, at: 0)
        SleeveHeader.writePeer(destination, to: unit, at: 6)
    }

    public static func origin(_ unit: UnsafeRawBufferPointer) -> UInt64 { SleeveHeader.readPeer(unit, at: 0) }
    public static func destination(_ unit: UnsafeRawBufferPointer) -> UInt64 { SleeveHeader.readPeer(unit, at: 6) }

    /// The Ethernet frame of a unit (after prefix and virtio header).
    public static func frame(_ unit: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: unit[(prefixSize + virtioHeaderSize)...])
    }
}
