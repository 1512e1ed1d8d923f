import Testing
import Weave

/// The sleeve's wire format version 2 (pure): the chunk header, cutting a unit into chunks and
/// putting it back together with chunks lost, reordered, duplicated or malformed.
struct SleeveChunkTests {
    @Test func chunkHeaderRoundTrip() {
        let chunk = SleeveChunk(sealed: true, hopsLeft: 9, sender: 0x02aa_bbcc_ddee, unit: 0xdead_beef, index: 3, count: 5,
                                offset: 4_200, total: 6_000)
        let header = chunk.bytes
        #expect(header.count == SleeveChunk.size && header[0] == 0x57 && header[1] == 6 && header[2] == 9)
        let datagram = header + [UInt8](repeating: 7, count: 1_000)
        #expect(datagram.withUnsafeBytes { SleeveChunk(reading: $0) } == chunk)
        // The clear part reads as a version-1 header of the chunk kind.
        #expect(datagram.withUnsafeBytes { SleeveHeader(reading: $0) }?.kind == .sealedChunk)
        var plain = chunk
        plain.sealed = false
        #expect(plain.bytes[1] == 5)
    }

    @Test func malformedChunksAreRejected() {
        let good = SleeveChunk(sealed: false, sender: 2, unit: 1, index: 1, count: 2, offset: 100, total: 200)
        func read(_ chunk: SleeveChunk, payload: Int) -> SleeveChunk? {
            (chunk.bytes + [UInt8](repeating: 0, count: payload)).withUnsafeBytes { SleeveChunk(reading: $0) }
        }
        #expect(read(good, payload: 100) == good)
        #expect(read(good, payload: 101) == nil)  // past the unit's end
        #expect(read(good, payload: 0) == nil)  // no bytes at all
        var chunk = good
        chunk.index = 2
        #expect(read(chunk, payload: 10) == nil)  // index beyond count
        chunk = good
        chunk.count = 0
        #expect(read(chunk, payload: 10) == nil)
        chunk = good
        chunk.count = UInt16(SleeveChunk.maximumCount + 1)
        #expect(read(chunk, payload: 10) == nil)
        chunk = good
        chunk.total = UInt32(SleeveChunk.maximumUnit + 1)
        #expect(read(chunk, payload: 10) == nil)
        // Truncated headers, wrong magic, other kinds.
        for length in 0...SleeveChunk.size {
            #expect(Array(good.bytes.prefix(length)).withUnsafeBytes { SleeveChunk(reading: $0) } == nil)
        }
        #expect(([0x58] + good.bytes.dropFirst() + [1]).withUnsafeBytes { SleeveChunk(reading: $0) } == nil)
        #expect(([0x57, 1] + good.bytes.dropFirst(2) + [1]).withUnsafeBytes { SleeveChunk(reading: $0) } == nil)
        // Random bytes never crash the reader.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var bytes = (0..<Int.random(in: 0...60, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if bytes.count > 1, Bool.random(using: &generator) { bytes[0] = 0x57; bytes[1] = 5 }
            _ = bytes.withUnsafeBytes { SleeveChunk(reading: $0) }
        }
    }

    /// Cuts `unit` into chunks of `size` bytes as the sleeve does.
    static func chunks(of unit: [UInt8], size: Int, sender: UInt64 = 2, number: UInt32 = 1) -> [(SleeveChunk, [UInt8])] {
        let count = SleeveChunk.count(unitLength: unit.count, chunkSize: size)
        return (0..<count).map { index in
            let bytes = Array(unit[(index * size)..<min(unit.count, (index + 1) * size)])
            return (SleeveChunk(sealed: false, sender: sender, unit: number, index: UInt16(index), count: UInt16(count),
                                offset: UInt32(index * size), total: UInt32(unit.count)), bytes)
        }
    }

    enum Result: Equatable { case pending, complete([UInt8]), dropped(SleeveDrop) }

    static func feed(_ reassembly: SleeveReassembly, _ chunk: (SleeveChunk, [UInt8])) -> Result {
        chunk.1.withUnsafeBytes { payload in
            switch reassembly.accept(chunk.0, payload: payload) {
            case .pending: .pending
            case .complete(let unit): .complete(Array(unit))
            case .dropped(let reason): .dropped(reason)
            }
        }
    }

    @Test func reassemblesInAnyOrder() {
        let unit = (0..<65_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let pieces = Self.chunks(of: unit, size: 1_447)
        #expect(pieces.count == 45)
        let reassembly = SleeveReassembly(slots: 4)
        var results = pieces.shuffled().map { Self.feed(reassembly, $0) }
        #expect(results.last == .complete(unit) && results.dropLast().allSatisfy { $0 == .pending })
        // A single-chunk unit completes at once.
        let small = Array(unit.prefix(100))
        #expect(Self.feed(reassembly, Self.chunks(of: small, size: 1_447, number: 2)[0]) == .complete(small))
        // Two units of two senders interleaved.
        let a = Self.chunks(of: Array(unit.prefix(5_000)), size: 1_000, sender: 3, number: 7)
        let b = Self.chunks(of: Array(unit.suffix(5_000)), size: 1_000, sender: 4, number: 7)
        results = zip(a, b).flatMap { [Self.feed(reassembly, $0), Self.feed(reassembly, $1)] }
        #expect(results.suffix(2) == [.complete(Array(unit.prefix(5_000))), .complete(Array(unit.suffix(5_000)))])
        #expect(reassembly.pendingUnits == 0 && reassembly.abandoned == 0)
    }

    @Test func lostReplayedAndInconsistentChunks() {
        let unit = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        let pieces = Self.chunks(of: unit, size: 1_000)
        let reassembly = SleeveReassembly(slots: 2)
        // A replayed chunk is dropped; the unit still completes once.
        #expect(Self.feed(reassembly, pieces[0]) == .pending)
        #expect(Self.feed(reassembly, pieces[0]) == .dropped(.replayed))
        for piece in pieces[1..<9] { #expect(Self.feed(reassembly, piece) == .pending) }
        #expect(Self.feed(reassembly, pieces[9]) == .complete(unit))
        // Replayed after completion: a new partial unit that never completes.
        #expect(Self.feed(reassembly, pieces[3]) == .pending)
        // A chunk that disagrees with its unit's count or total.
        var wrong = pieces[4]
        wrong.0.total = 9_999
        #expect(Self.feed(reassembly, wrong) == .dropped(.malformed))
        // Lost chunks: units 2 and 3 miss one each; with two slots, unit 4 gives up the oldest.
        let two = Self.chunks(of: unit, size: 1_000, number: 2), three = Self.chunks(of: unit, size: 1_000, number: 3)
        for piece in two.dropLast() { _ = Self.feed(reassembly, piece) }
        #expect(reassembly.abandoned == 0 && reassembly.pendingUnits == 2)
        for piece in three.dropFirst() { _ = Self.feed(reassembly, piece) }
        #expect(reassembly.abandoned == 1)  // the replayed unit 1's partial
        let four = Self.chunks(of: unit, size: 1_000, number: 4)
        let results = four.reversed().map { Self.feed(reassembly, $0) }
        #expect(results.last == .complete(unit) && reassembly.abandoned == 2)  // unit 2
        // The lost chunk arriving late finds its unit gone: it starts a partial of its own.
        #expect(Self.feed(reassembly, two[9]) == .pending)
        // Chunks that overlap cover the count but not the unit: malformed, never a bad unit.
        let overlapping = [
            (SleeveChunk(sealed: false, sender: 2, unit: 9, index: 0, count: 2, offset: 0, total: 20), [UInt8](repeating: 1, count: 10)),
            (SleeveChunk(sealed: false, sender: 2, unit: 9, index: 1, count: 2, offset: 5, total: 20), [UInt8](repeating: 2, count: 10)),
        ]
        #expect(Self.feed(reassembly, overlapping[0]) == .pending)
        #expect(Self.feed(reassembly, overlapping[1]) == .dropped(.malformed))
        // A plain chunk of a unit begun sealed is refused.
        var sealed = Self.chunks(of: unit, size: 1_000, number: 10)
        #expect(Self.feed(reassembly, sealed[0]) == .pending)
        sealed[1].0.sealed = true
        #expect(Self.feed(reassembly, sealed[1]) == .dropped(.malformed))
    }
}
