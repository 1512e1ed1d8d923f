import NIOCore

/// One topology gossip message between two directly connected peers: entries the receiver
/// may not have, and optionally a digest of everything the sender has ("send me what I lack").
///
/// The connection layer carries it as opaque bytes (``encoded(allocator:)`` / ``init(decoding:)``).
public struct GossipMessage: Hashable, Sendable {
    /// Entries, each newer than what the sender believes the receiver has.
    public var entries: [PeerEntry]
    /// Changes of entries the receiver is believed to hold at the patch's base version.
    public var patches: [PeerEntryPatch]
    /// Peers whose whole entry the sender asks for (it could not apply a patch).
    public var wants: [PeerName]
    /// When present, the sender's versions of every entry it holds; the receiver answers
    /// with the entries the sender lacks or holds an older version of.
    public var digest: [PeerDigest]?
    /// Set on a digest sent in answer to another digest: the receiver answers it with entries
    /// only, never with a digest again, so an exchange takes at most three messages.
    public var isDigestReply: Bool

    public init(entries: [PeerEntry] = [], patches: [PeerEntryPatch] = [], wants: [PeerName] = [], digest: [PeerDigest]? = nil, isDigestReply: Bool = false) {
        self.entries = entries
        self.patches = patches
        self.wants = wants
        self.digest = digest
        self.isDigestReply = digest != nil && isDigestReply
    }

    public var isEmpty: Bool { entries.isEmpty && patches.isEmpty && wants.isEmpty && digest == nil }
}

extension GossipMessage {
    /// The format version written first in every message; other versions are rejected.
    public static let formatVersion: UInt8 = 1
    /// The largest message encoded or accepted (4 MiB); the engine splits larger batches.
    public static let maximumEncodedSize = 4 << 20
    /// The most connections one entry may list (the short ID space: no mesh is larger).
    public static let maximumConnections = ShortID.count
    /// The most entries or digest items a message may carry.
    public static let maximumItems = 1 << 16 - 1
    /// The highest entry version accepted (2^62; at a million changes a second a peer would
    /// need 146,000 years to get there). A higher one is malformed: the engine raises its own
    /// version past any it hears of, which must not overflow.
    public static let maximumVersion: UInt64 = 1 << 62

    static let headerSize = 1 + 1 + 2
    static let digestItemSize = 6 + 8 + 8
    static let connectionFixedSize = 6 + 1 + 1
    static let entryFixedSize = 6 + 8 + 8 + 2 + 1 + 2

    /// Encoded size of one entry.
    static func encodedSize(of entry: PeerEntry) -> Int {
        entryFixedSize + entry.identity.nickname.utf8.count
            + entry.connections.reduce(0) { $0 + connectionFixedSize + $1.remoteAddress.utf8.count }
    }

    /// Encoded size of the whole message.
    public var encodedSize: Int {
        Self.headerSize + entries.reduce(0) { $0 + Self.encodedSize(of: $1) }
            + (patches.isEmpty ? 0 : 2 + patches.reduce(0) { $0 + Self.encodedSize(of: $1) })
            + (wants.isEmpty ? 0 : 2 + wants.count * 6)
            + (digest.map { 2 + $0.count * Self.digestItemSize } ?? 0)
    }

    /// The bytes on the wire:
    /// `version u8, flags u8 (bit 0: digest follows, bit 1: it is a digest reply, bit 2: patches
    ///  follow, bit 3: wants follow), entry count u16,
    ///  entries [name 6, uid u64, version u64, short ID u16, nickname length u8, nickname,
    ///           connection count u16, connections [name 6, flags u8 (bit 0 outbound, bit 1
    ///           established), address length u8, address]],
    ///  if patches: count u16, patches (see ``PeerEntryPatch``), if wants: count u16, names [6],
    ///  if digest: item count u16, items [name 6, uid u64, version u64]`,
    /// all integers big-endian.
    ///
    /// Throws ``MeshError/Code/invalidValue`` when a field does not fit (nickname or address
    /// longer than 255 bytes, too many items) or the message exceeds ``maximumEncodedSize``.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) throws(MeshError) -> ByteBuffer {
        let size = encodedSize
        guard size <= Self.maximumEncodedSize else {
            throw MeshError(.invalidValue, "gossip message of \(size) bytes exceeds \(Self.maximumEncodedSize)")
        }
        guard entries.count <= Self.maximumItems, patches.count <= Self.maximumItems, wants.count <= Self.maximumItems,
              (digest?.count ?? 0) <= Self.maximumItems else {
            throw MeshError(.invalidValue, "gossip message has more than \(Self.maximumItems) entries or digest items")
        }
        var buffer = allocator.buffer(capacity: size)
        buffer.writeInteger(Self.formatVersion)
        var flags: UInt8 = digest == nil ? 0 : (isDigestReply ? 3 : 1)
        if !patches.isEmpty { flags |= 4 }
        if !wants.isEmpty { flags |= 8 }
        buffer.writeInteger(flags)
        buffer.writeInteger(UInt16(entries.count))
        for entry in entries {
            try Self.write(entry, to: &buffer)
        }
        if !patches.isEmpty {
            buffer.writeInteger(UInt16(patches.count))
            for patch in patches { try Self.write(patch, to: &buffer) }
        }
        if !wants.isEmpty {
            buffer.writeInteger(UInt16(wants.count))
            for name in wants { Self.write(name, to: &buffer) }
        }
        if let digest {
            buffer.writeInteger(UInt16(digest.count))
            for item in digest {
                Self.write(item.name, to: &buffer)
                buffer.writeInteger(item.uid)
                buffer.writeInteger(item.version)
            }
        }
        return buffer
    }

    /// Decodes one whole message; every read is length-checked and anything malformed
    /// (unknown version or flags, truncation, trailing bytes, bad UTF-8, short ID over 12 bits,
    /// oversize) throws ``MeshError/Code/malformedMessage``.
    public init(decoding bytes: ByteBuffer) throws(MeshError) {
        guard bytes.readableBytes <= Self.maximumEncodedSize else {
            throw Self.malformed("\(bytes.readableBytes) bytes exceed the maximum of \(Self.maximumEncodedSize)")
        }
        var buffer = bytes
        let version: UInt8 = try Self.read(&buffer, "format version")
        guard version == Self.formatVersion else { throw Self.malformed("unknown format version \(version)") }
        let flags: UInt8 = try Self.read(&buffer, "flags")
        guard flags & ~15 == 0, flags & 3 != 2 else { throw Self.malformed("unknown flags \(flags)") }
        let entryCount: UInt16 = try Self.read(&buffer, "entry count")
        var entries: [PeerEntry] = []
        entries.reserveCapacity(min(Int(entryCount), buffer.readableBytes / Self.entryFixedSize))
        for _ in 0..<entryCount {
            entries.append(try Self.readEntry(&buffer))
        }
        var patches: [PeerEntryPatch] = []
        if flags & 4 != 0 {
            let count: UInt16 = try Self.read(&buffer, "patch count")
            guard count > 0 else { throw Self.malformed("empty patch section") }
            for _ in 0..<count { patches.append(try Self.readPatch(&buffer)) }
        }
        var wants: [PeerName] = []
        if flags & 8 != 0 {
            let count: UInt16 = try Self.read(&buffer, "want count")
            guard count > 0, buffer.readableBytes >= Int(count) * 6 else { throw Self.malformed("want list empty or truncated") }
            for _ in 0..<count { wants.append(try Self.readName(&buffer)) }
        }
        var digest: [PeerDigest]?
        if flags & 1 != 0 {
            let count: UInt16 = try Self.read(&buffer, "digest count")
            guard buffer.readableBytes >= Int(count) * Self.digestItemSize else {
                throw Self.malformed("digest of \(count) items truncated")
            }
            var items: [PeerDigest] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count {
                let name = try Self.readName(&buffer)
                let uid: UInt64 = try Self.read(&buffer, "digest uid")
                let version = try Self.readVersion(&buffer, "digest version", of: name)
                items.append(PeerDigest(name: name, uid: uid, version: version))
            }
            digest = items
        }
        guard buffer.readableBytes == 0 else { throw Self.malformed("\(buffer.readableBytes) trailing bytes") }
        self.init(entries: entries, patches: patches, wants: wants, digest: digest, isDigestReply: flags & 3 == 3)
    }

    // MARK: - Writing

    static func write(_ name: PeerName, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(truncatingIfNeeded: name.rawValue >> 32))
        buffer.writeInteger(UInt32(truncatingIfNeeded: name.rawValue))
    }

    private static func write(_ entry: PeerEntry, to buffer: inout ByteBuffer) throws(MeshError) {
        let nickname = Array(entry.identity.nickname.utf8)
        guard nickname.count <= 255 else {
            throw MeshError(.invalidValue, "nickname of \(entry.name) is longer than 255 bytes")
        }
        guard entry.connections.count <= maximumConnections else {
            throw MeshError(.invalidValue, "\(entry.name) lists more than \(maximumConnections) connections")
        }
        write(entry.name, to: &buffer)
        buffer.writeInteger(entry.identity.uid)
        buffer.writeInteger(entry.version)
        buffer.writeInteger(entry.shortID.rawValue)
        buffer.writeInteger(UInt8(nickname.count))
        buffer.writeBytes(nickname)
        try write(entry.connections, of: entry.name, to: &buffer)
    }

    static func write(_ connections: [PeerConnection], of name: PeerName, to buffer: inout ByteBuffer) throws(MeshError) {
        buffer.writeInteger(UInt16(connections.count))
        for connection in connections {
            let address = Array(connection.remoteAddress.utf8)
            guard address.count <= 255 else {
                throw MeshError(.invalidValue, "address of \(name)'s connection to \(connection.peer) is longer than 255 bytes")
            }
            write(connection.peer, to: &buffer)
            buffer.writeInteger(UInt8((connection.outbound ? 1 : 0) | (connection.established ? 2 : 0)))
            buffer.writeInteger(UInt8(address.count))
            buffer.writeBytes(address)
        }
    }

    // MARK: - Reading

    static func malformed(_ what: String) -> MeshError {
        MeshError(.malformedMessage, "gossip message: \(what)")
    }

    static func read<I: FixedWidthInteger>(_ buffer: inout ByteBuffer, _ field: String) throws(MeshError) -> I {
        guard buffer.readableBytes >= MemoryLayout<I>.size, let value = buffer.readInteger(as: I.self) else {
            throw malformed("truncated at \(field)")
        }
        return value
    }

    static func readName(_ buffer: inout ByteBuffer) throws(MeshError) -> PeerName {
        let high: UInt16 = try read(&buffer, "peer name")
        let low: UInt32 = try read(&buffer, "peer name")
        // Six bytes always fit 48 bits.
        return PeerName(rawValue: UInt64(high) << 32 | UInt64(low))!
    }

    static func readString(_ buffer: inout ByteBuffer, _ field: String) throws(MeshError) -> String {
        let length: UInt8 = try read(&buffer, "\(field) length")
        guard buffer.readableBytes >= Int(length), let bytes = buffer.readBytes(length: Int(length)) else {
            throw malformed("truncated \(field)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw malformed("\(field) is not UTF-8") }
        return text
    }

    private static func readEntry(_ buffer: inout ByteBuffer) throws(MeshError) -> PeerEntry {
        let name = try readName(&buffer)
        let uid: UInt64 = try read(&buffer, "uid")
        let version = try readVersion(&buffer, "version", of: name)
        let rawShortID: UInt16 = try read(&buffer, "short ID")
        guard let shortID = ShortID(rawValue: rawShortID) else {
            throw malformed("short ID \(rawShortID) of \(name) exceeds 12 bits")
        }
        let nickname = try readString(&buffer, "nickname")
        let connections = try readConnections(&buffer, of: name)
        var entry = PeerEntry(identity: PeerIdentity(name: name, nickname: nickname, uid: uid), version: version, shortID: shortID, connections: [])
        entry.connections = connections
        return entry
    }

    /// A version, at most ``maximumVersion``.
    static func readVersion(_ buffer: inout ByteBuffer, _ field: String, of name: PeerName) throws(MeshError) -> UInt64 {
        let version: UInt64 = try read(&buffer, field)
        guard version <= maximumVersion else { throw malformed("\(field) \(version) of \(name) exceeds \(maximumVersion)") }
        return version
    }

    static func readConnections(_ buffer: inout ByteBuffer, of name: PeerName) throws(MeshError) -> [PeerConnection] {
        let count: UInt16 = try read(&buffer, "connection count")
        guard Int(count) <= maximumConnections else { throw malformed("\(name) lists \(count) connections") }
        guard buffer.readableBytes >= Int(count) * connectionFixedSize else {
            throw malformed("connections of \(name) truncated")
        }
        var connections: [PeerConnection] = []
        connections.reserveCapacity(Int(count))
        var previous: PeerName?
        for _ in 0..<count {
            let peer = try readName(&buffer)
            let flags: UInt8 = try read(&buffer, "connection flags")
            guard flags & ~3 == 0 else { throw malformed("unknown connection flags \(flags) in \(name)'s entry") }
            let address = try readString(&buffer, "connection address")
            // Sorted and unique, as encoders write them: one canonical form per entry.
            if let previous, previous >= peer { throw malformed("connections of \(name) not sorted by peer") }
            previous = peer
            connections.append(PeerConnection(peer: peer, remoteAddress: address, outbound: flags & 1 != 0, established: flags & 2 != 0))
        }
        return connections
    }
}
