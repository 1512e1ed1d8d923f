/// Which directly connected peers are known to hold the version of an entry that we hold, so
/// that batched gossip to them can leave it out. While a change floods through a cold start,
/// the same version reaches a peer from several neighbours at about the same time; a neighbour
/// that sent it to us (or got it from us, or listed it in a digest) does not need it back.
///
/// Per entry (by the ``TopologyGraph`` number of its peer): one bit per neighbour slot, for the
/// version the engine holds (cleared whenever that changes). Slots are handed out to the first 64 neighbours seen; traffic to
/// others is never left out. Knowledge only ever suppresses a send when it is about exactly the
/// version we hold, and it is dropped when that version changes, when the neighbour asks for
/// the entry, reports an older version in a digest, or (re)connects.
struct NeighbourHolders: Sendable {
    static let slotLimit = 64
    private var slots: [PeerName: Int] = [:]
    private var masks: [UInt64] = []

    /// The entry numbered `number` changed: nobody is known to hold it yet.
    mutating func reset(_ number: Int) {
        if number >= masks.count {
            masks.reserveCapacity(number + 1)
            masks.append(contentsOf: repeatElement(0, count: number + 1 - masks.count))
        } else {
            masks[number] = 0
        }
    }

    /// `neighbour` holds the version we hold of the entry numbered `number`.
    mutating func note(_ neighbour: PeerName, of number: Int) {
        guard number < masks.count, let bit = bit(for: neighbour, assign: true) else { return }
        masks[number] |= bit
    }

    /// `neighbour` may no longer hold the entry numbered `number`.
    mutating func forget(_ neighbour: PeerName, of number: Int) {
        guard number < masks.count, let bit = bit(for: neighbour, assign: false) else { return }
        masks[number] &= ~bit
    }

    /// `neighbour` may hold nothing (it connected, maybe as a new incarnation).
    mutating func forget(_ neighbour: PeerName) {
        guard let bit = bit(for: neighbour, assign: false) else { return }
        for index in masks.indices { masks[index] &= ~bit }
    }

    /// Whether `neighbour` is known to hold the version we hold of the entry numbered `number`.
    func holds(_ neighbour: PeerName, _ number: Int) -> Bool {
        guard number < masks.count, let slot = slots[neighbour] else { return false }
        return masks[number] & (1 << UInt64(slot)) != 0
    }

    /// Forgets everything (the graph was renumbered).
    mutating func removeAll() {
        masks = []
    }

    private mutating func bit(for neighbour: PeerName, assign: Bool) -> UInt64? {
        if let slot = slots[neighbour] { return 1 << UInt64(slot) }
        guard assign, slots.count < Self.slotLimit else { return nil }
        slots[neighbour] = slots.count
        return 1 << UInt64(slots.count - 1)
    }
}

extension GossipEngine {
    /// The local entry's version was raised in place: no neighbour holds the new one yet.
    mutating func localVersionChanged() {
        if let number = graph.number(of: localName) { holders.reset(number) }
    }

    /// `neighbour` sent or was sent `version` of `owner`'s entry (noted only when it is the
    /// version we hold).
    mutating func noteHeld(_ owner: PeerName, version: UInt64, by neighbour: PeerName) {
        guard entries[owner]?.version == version, let number = graph.number(of: owner) else { return }
        holders.note(neighbour, of: number)
    }

    /// Whether `neighbour` is known to hold `version` of `owner`'s entry, or the later one we hold.
    func neighbour(_ neighbour: PeerName, holds owner: PeerName, version: UInt64) -> Bool {
        guard let held = entries[owner], version <= held.version, let number = graph.number(of: owner) else { return false }
        return holders.holds(neighbour, number)
    }

    /// Notes what `message`, sent to `neighbour`, gives it.
    mutating func noteSent(_ message: GossipMessage, to neighbour: PeerName) {
        for entry in message.entries where entries[entry.name]?.digest == entry.digest {
            noteHeld(entry.name, version: entry.version, by: neighbour)
        }
        for patch in message.patches where entries[patch.name]?.identity.uid == patch.uid {
            noteHeld(patch.name, version: patch.version, by: neighbour)
        }
    }
}
