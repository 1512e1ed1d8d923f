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
        self.init(name: name, uid: uid, baseVersion: baseVersion, version: version, shortID: shortID,
                  sortedUpserted: PeerEntry.normalised(upserted), sortedRemoved: Array(Set(removed)).sorted())
    }

    /// With lists already sorted by peer and unique.
    private init(name: PeerName, uid: UInt64, baseVersion: UInt64, version: UInt64, shortID: ShortID, sortedUpserted: [PeerConnection], sortedRemoved: [PeerName]) {
        self.name = name
        self.uid = uid
        self.baseVersion = baseVersion
        self.version = version
        self.shortID = shortID
        self.upserted = sortedUpserted
        self.removed = sortedRemoved
    }

    /// The patch from `old` to `new` (same peer, same incarnation, newer version); nil otherwise.
    public init?(from old: PeerEntry, to new: PeerEntry) {
        guard old.identity == new.identity, old.version < new.version else { return nil }
        // One merge of the two sorted connection lists (no hashing: this runs for every
        // forwarded change).
        let before = PeerEntry.sortedUnique(old.connections), after = PeerEntry.sortedUnique(new.connections)
        var upserted: [PeerConnection] = [], removed: [PeerName] = []
        var i = 0, j = 0
        while i < before.count || j < after.count {
            if j == after.count || i < before.count && before[i].peer < after[j].peer {
                removed.append(before[i].peer)
                i += 1
            } else if i == before.count || after[j].peer < before[i].peer {
                upserted.append(after[j])
                j += 1
            } else {
                if before[i] != after[j] { upserted.append(after[j]) }
                i += 1
                j += 1
            }
        }
        self.init(name: new.name, uid: new.identity.uid, baseVersion: old.version, version: new.version, shortID: new.shortID,
                  sortedUpserted: upserted, sortedRemoved: removed)
    }

    /// `entry` with the patch applied, or nil when `entry` is not the base (other uid or version).
    public func applied(to entry: PeerEntry) -> PeerEntry? {
        guard entry.name == name, entry.identity.uid == uid, entry.version == baseVersion else { return nil }
        var result = entry
        result.version = version
        result.shortID = shortID
        result.connections = merged(into: PeerEntry.sortedUnique(entry.connections))
        return result
    }

    /// `base` (sorted by peer, unique) without ``removed`` and with ``upserted`` in place (an
    /// upsert wins over a removal of the same peer), in one merge; the result is allocated at
    /// its exact size, since entries live as long as the topology.
    private func merged(into base: [PeerConnection]) -> [PeerConnection] {
        func walk(_ emit: (PeerConnection) -> Void) {
            var i = 0, j = 0, k = 0
            while i < base.count || j < upserted.count {
                if j < upserted.count, i == base.count || upserted[j].peer <= base[i].peer {
                    if i < base.count, base[i].peer == upserted[j].peer { i += 1 }
                    emit(upserted[j])
                    j += 1
                } else {
                    let peer = base[i].peer
                    while k < removed.count, removed[k] < peer { k += 1 }
                    if k == removed.count || removed[k] != peer { emit(base[i]) }
                    i += 1
                }
            }
        }
        var count = 0
        walk { _ in count += 1 }
        var result: [PeerConnection] = []
        result.reserveCapacity(count)
        walk { result.append($0) }
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
        let baseVersion = try readVersion(&buffer, "patch base version", of: name)
        let version = try readVersion(&buffer, "patch version", of: name)
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
