/// Puts units back together from their chunks (see ``SleeveChunk``), in a fixed number of
/// preallocated slots: no allocation per chunk or unit. Chunks may arrive in any order; a
/// chunk seen twice is dropped (``SleeveDrop/replayed``); a chunk that does not agree with the
/// others of its unit (count, total, or where it lies) is dropped (``SleeveDrop/malformed``); when a new unit finds every slot
/// taken, the oldest unfinished unit is given up (counted in ``abandoned``): a unit with a lost
/// chunk never blocks the ones after it.
///
/// Used by one thread at a time (the sleeve's receiver); not `Sendable`.
public final class SleeveReassembly {
    public enum Outcome {
        /// The unit still misses chunks.
        case pending
        /// The whole unit; valid until the next call of ``accept(_:payload:)``.
        case complete(UnsafeRawBufferPointer)
        case dropped(SleeveDrop)
    }

    private struct Slot {
        var inUse = false
        var sender: UInt64 = 0
        var unit: UInt32 = 0
        var sealed = false
        var count: UInt16 = 0
        var total: UInt32 = 0
        var stride = 0
        var received = 0
        var bytes = 0
        /// Which chunks arrived (bit per index, 128 at most).
        var seen: (UInt64, UInt64) = (0, 0)

        func has(_ index: UInt16) -> Bool {
            index < 64 ? seen.0 & (1 << UInt64(index)) != 0 : seen.1 & (1 << UInt64(index - 64)) != 0
        }

        mutating func mark(_ index: UInt16) {
            if index < 64 { seen.0 |= 1 << UInt64(index) } else { seen.1 |= 1 << UInt64(index - 64) }
        }
        var started: UInt64 = 0
    }

    private var slots: [Slot]
    private let storage: UnsafeMutableRawPointer
    private var clock: UInt64 = 0
    /// Units given up unfinished since creation.
    public private(set) var abandoned = 0

    public init(slots count: Int = 32) {
        precondition(count > 0)
        slots = Array(repeating: Slot(), count: count)
        storage = .allocate(byteCount: count * SleeveChunk.maximumUnit, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Units being reassembled now.
    public var pendingUnits: Int { slots.count { $0.inUse } }

    /// Takes one chunk (`payload`: its bytes after the header).
    public func accept(_ chunk: SleeveChunk, payload: UnsafeRawBufferPointer) -> Outcome {
        guard Int(chunk.offset) + payload.count <= Int(chunk.total), Int(chunk.total) <= SleeveChunk.maximumUnit,
              chunk.index < chunk.count, Int(chunk.count) <= SleeveChunk.maximumCount else { return .dropped(.malformed) }
        if chunk.count == 1 {
            guard chunk.offset == 0, payload.count == Int(chunk.total) else { return .dropped(.malformed) }
            return .complete(payload)
        }
        // Every chunk but the last has the unit's stride of bytes and starts at index × stride;
        // the last holds the rest. Chunks that agree on it tile the unit without gap or overlap.
        let stride: Int
        if chunk.index == chunk.count - 1 {
            let offset = Int(chunk.offset), before = Int(chunk.count) - 1
            guard offset % before == 0, payload.count == Int(chunk.total) - offset else { return .dropped(.malformed) }
            stride = offset / before
            guard payload.count >= 1, payload.count <= stride else { return .dropped(.malformed) }
        } else {
            stride = payload.count
            guard stride >= 1, Int(chunk.offset) == Int(chunk.index) * stride,
                  Int(chunk.total) > (Int(chunk.count) - 1) * stride else { return .dropped(.malformed) }
        }
        clock += 1
        let index = slots.firstIndex { $0.inUse && $0.sender == chunk.sender && $0.unit == chunk.unit }
            ?? claim(for: chunk, stride: stride)
        guard slots[index].sealed == chunk.sealed, slots[index].count == chunk.count, slots[index].total == chunk.total,
              slots[index].stride == stride else {
            return .dropped(.malformed)
        }
        guard !slots[index].has(chunk.index) else { return .dropped(.replayed) }
        let base = storage + index * SleeveChunk.maximumUnit
        if payload.count > 0 { (base + Int(chunk.offset)).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
        slots[index].mark(chunk.index)
        slots[index].received += 1
        slots[index].bytes += payload.count
        guard slots[index].received == Int(chunk.count) else { return .pending }
        slots[index].inUse = false
        // Every chunk once, each within the unit: complete only when they also cover it exactly.
        guard slots[index].bytes == Int(chunk.total) else { return .dropped(.malformed) }
        return .complete(UnsafeRawBufferPointer(start: base, count: Int(chunk.total)))
    }

    /// A free slot for the chunk's unit, or the oldest one given up.
    private func claim(for chunk: SleeveChunk, stride: Int) -> Int {
        let index: Int
        if let free = slots.firstIndex(where: { !$0.inUse }) {
            index = free
        } else {
            index = slots.indices.min { slots[$0].started < slots[$1].started }!
            abandoned += 1
        }
        slots[index] = Slot(inUse: true, sender: chunk.sender, unit: chunk.unit, sealed: chunk.sealed, count: chunk.count,
                            total: chunk.total, stride: stride, received: 0, bytes: 0, seen: (0, 0), started: clock)
        return index
    }
}
