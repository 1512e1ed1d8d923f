/// What the runtime does after an engine call: send each message to its (directly connected)
/// peer, and if ``topologyChanged``, note a change in its ``RecalculationCoalescer``.
public struct GossipOutput: Sendable {
    /// One message for one directly connected peer.
    public struct Send: Hashable, Sendable {
        public var peer: PeerName
        public var message: GossipMessage
    }

    /// In order; at most one message per peer unless a batch had to be split for size.
    public var sends: [Send] { order.flatMap { peer in pending[peer]!.split().map { Send(peer: peer, message: $0) } } }
    /// True when an entry was added or replaced: routes may have changed.
    public var topologyChanged: Bool

    private var order: [PeerName] = []
    private var pending: [PeerName: Batch] = [:]

    public init(topologyChanged: Bool = false) {
        self.topologyChanged = topologyChanged
    }

    private struct Batch: Sendable {
        var entries: [PeerEntry] = []
        var names: Set<PeerName> = []
        var patches: [PeerEntryPatch] = []
        var wants: [PeerName] = []
        var digest: [PeerDigest]?
        var isDigestReply = false

        /// Messages under the size limit; patches, wants and the digest ride on the last one.
        func split() -> [GossipMessage] {
            let tail = GossipMessage(patches: patches, wants: wants, digest: digest, isDigestReply: isDigestReply)
            let budget = GossipMessage.maximumEncodedSize - tail.encodedSize - 2
            var messages: [GossipMessage] = []
            var current: [PeerEntry] = []
            var size = 0
            for entry in entries {
                let entrySize = GossipMessage.encodedSize(of: entry)
                if !current.isEmpty, size + entrySize > budget || current.count == GossipMessage.maximumItems {
                    messages.append(GossipMessage(entries: current))
                    current = []
                    size = 0
                }
                current.append(entry)
                size += entrySize
            }
            messages.append(GossipMessage(entries: current, patches: patches, wants: wants, digest: digest, isDigestReply: isDigestReply))
            return messages.filter { !$0.isEmpty }
        }
    }

    /// True when there is nothing to send.
    var isEmpty: Bool { order.isEmpty }

    /// Leaves out the entries and patches that `held(peer, owner, version)` says the peer
    /// already has, and the peers left with nothing to send.
    mutating func removeHeld(_ held: (_ peer: PeerName, _ owner: PeerName, _ version: UInt64) -> Bool) {
        for peer in order {
            var batch = pending[peer]!
            let entries = batch.entries.count, patches = batch.patches.count
            batch.entries.removeAll { held(peer, $0.name, $0.version) }
            batch.patches.removeAll { held(peer, $0.name, $0.version) }
            guard batch.entries.count != entries || batch.patches.count != patches else { continue }
            batch.names = Set(batch.entries.map(\.name))
            pending[peer] = batch
        }
        order.removeAll { peer in
            let batch = pending[peer]!
            guard batch.entries.isEmpty, batch.patches.isEmpty, batch.wants.isEmpty, batch.digest == nil else { return false }
            pending[peer] = nil
            return true
        }
    }

    /// Adds what `later` sends after what this output sends, per peer: a later entry replaces
    /// an earlier one of the same peer, patches and wants are appended, the later digest
    /// replaces the earlier one (and asks for an answer when either did). The runtime batches
    /// what several events decided into one message per neighbour this way.
    mutating func append(_ later: GossipOutput) {
        topologyChanged = topologyChanged || later.topologyChanged
        for peer in later.order {
            let batch = later.pending[peer]!
            if !batch.entries.isEmpty { add(batch.entries, to: peer) }
            for patch in batch.patches { add(patch, to: peer) }
            if !batch.wants.isEmpty { add(wants: batch.wants, to: peer) }
            if let digest = batch.digest {
                let earlierAsked = pending[peer]?.digest != nil && pending[peer]?.isDigestReply == false
                add(digest: digest, isReply: batch.isDigestReply && !earlierAsked, to: peer)
            }
        }
    }

    mutating func add(_ entries: [PeerEntry], to peer: PeerName) {
        if pending[peer] == nil { order.append(peer); pending[peer] = Batch() }
        for entry in entries {
            if pending[peer]!.names.insert(entry.name).inserted {
                pending[peer]!.entries.append(entry)
            } else if let index = pending[peer]!.entries.firstIndex(where: { $0.name == entry.name }) {
                pending[peer]!.entries[index] = entry
            }
        }
    }

    mutating func add(_ patch: PeerEntryPatch, to peer: PeerName) {
        if pending[peer] == nil { order.append(peer); pending[peer] = Batch() }
        if !pending[peer]!.patches.contains(patch) { pending[peer]!.patches.append(patch) }
    }

    mutating func add(wants: [PeerName], to peer: PeerName) {
        if pending[peer] == nil { order.append(peer); pending[peer] = Batch() }
        pending[peer]!.wants += wants
    }

    mutating func add(digest: [PeerDigest], isReply: Bool, to peer: PeerName) {
        if pending[peer] == nil { order.append(peer); pending[peer] = Batch() }
        pending[peer]!.digest = digest
        pending[peer]!.isDigestReply = isReply
    }
}
