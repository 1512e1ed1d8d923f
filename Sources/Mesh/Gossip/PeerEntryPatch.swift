import NIOCore

/// The change from one version of a peer's entry to the next: what a local connection change
/// sends and forwards instead of the whole entry, so one change costs bytes proportional to the
/// change, not to the peer's connection count. A receiver applies it only to exactly the base
/// version (same uid); otherwise it asks the sender for the whole entry
/// (``GossipMessage/wants``).
public struct PeerEntryPatch: Hashable, Sendable {
    public var name: PeerName
    public var uid: UInt64
    /// The version the patch applies to.
    public var baseVersion: UInt64
    /// The version after it (greater than ``baseVersion``).
    public var version: UInt64
    public var shortID: ShortID
    /// Connections added or changed, sorted by peer.
    public var upserted: [PeerConnection]
    /// Peers whose connection is gone, sorted.
    public var removed: [PeerName]

    public init(name: PeerName, uid: UInt64, baseVersion: UInt64, version: UInt64, shortID: ShortID, upserted: [PeerConnection], removed: [PeerName]) {
        self.name = name
        self.uid = uid
        self.baseVersion = baseVersion
        self.version = version
        self.shortID = shortID
        self.upserted = PeerEntry.normalised(upserted)
        self.removed = Array(Set(removed)).sorted()
    }

    /// The patch from `old` to `new` (same peer, same incarnation, newer version); nil otherwise.
    public init?(from old: PeerEntry, to new: PeerEntry) {
        guard old.identity == new.identity, old.version < new.version else { return nil }
        let before = Dictionary(uniqueKeysWithValues: old.connections.map { ($0.peer, $0) })
        let after = Set(new.connections.map(\.peer))
        self.init(name: new.name, uid: new.identity.uid, baseVersion: old.version, version: new.version, shortID: new.shortID,
                  upserted: new.connections.filter { before[$0.peer] != $0 },
                  removed: old.connections.map(\.peer).filter { !after.contains($0) })
    }

    /// `entry` with the patch applied, or nil when `entry` is not the base (other uid or version).
    public func applied(to entry: PeerEntry) -> PeerEntry? {
        guard entry.name == name, entry.identity.uid == uid, entry.version == baseVersion else { return nil }
        var byPeer = Dictionary(uniqueKeysWithValues: entry.connections.map { ($0.peer, $0) })
        for peer in removed { byPeer[peer] = nil }
        for connection in upserted { byPeer[connection.peer] = connection }
        var result = entry
        result.version = version
        result.shortID = shortID
        result.connections = byPeer.values.sorted { $0.peer < $1.peer }
        return result
    }
}

extension GossipMessage {
    static let patchFixedSize = 6 + 8 + 8 + 8 + 2 + 2 + 2

    static func encodedSize(of patch: PeerEntryPatch) -> Int {
        patchFixedSize + patch.removed.count * 6
            + patch.upserted.reduce(0) { $0 + connectionFixedSize + $1.remoteAddress.utf8.count }
    }

    /// `name 6, uid u64, base version u64, version u64, short ID u16, upserted count u16,
    /// upserted [as an entry's connections], removed count u16, removed [name 6]`.
    static func write(_ patch: PeerEntryPatch, to buffer: inout ByteBuffer) throws(MeshError) {
        guard patch.upserted.count <= maximumConnections, patch.removed.count <= maximumConnections else {
            throw MeshError(.invalidValue, "patch of \(patch.name) changes more than \(maximumConnections) connections")
        }
        write(patch.name, to: &buffer)
        buffer.writeInteger(patch.uid)
        buffer.writeInteger(patch.baseVersion)
        buffer.writeInteger(patch.version)
        buffer.writeInteger(patch.shortID.rawValue)
        try write(patch.upserted, of: patch.name, to: &buffer)
        buffer.writeInteger(UInt16(patch.removed.count))
        for peer in patch.removed { write(peer, to: &buffer) }
    }

    static func readPatch(_ buffer: inout ByteBuffer) throws(MeshError) -> PeerEntryPatch {
        let name = try readName(&buffer)
        let uid: UInt64 = try read(&buffer, "patch uid")
        let baseVersion: UInt64 = try read(&buffer, "patch base version")
        let version: UInt64 = try read(&buffer, "patch version")
        guard baseVersion < version else { throw malformed("patch of \(name) goes from version \(baseVersion) to \(version)") }
        let rawShortID: UInt16 = try read(&buffer, "short ID")
        guard let shortID = ShortID(rawValue: rawShortID) else { throw malformed("short ID \(rawShortID) of \(name) exceeds 12 bits") }
        let upserted = try readConnections(&buffer, of: name)
        let count: UInt16 = try read(&buffer, "removed count")
        guard Int(count) <= maximumConnections, buffer.readableBytes >= Int(count) * 6 else {
            throw malformed("removed connections of \(name) truncated or too many")
        }
        var removed: [PeerName] = []
        for _ in 0..<count {
            let peer = try readName(&buffer)
            if let last = removed.last, last >= peer { throw malformed("removed connections of \(name) not sorted") }
            removed.append(peer)
        }
        if !Set(removed).isDisjoint(with: upserted.map(\.peer)) { throw malformed("patch of \(name) both changes and removes a connection") }
        var patch = PeerEntryPatch(name: name, uid: uid, baseVersion: baseVersion, version: version, shortID: shortID, upserted: [], removed: [])
        patch.upserted = upserted
        patch.removed = removed
        return patch
    }
}
