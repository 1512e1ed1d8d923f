/// A sliding window over record sequence numbers that accepts each number at most once and
/// tolerates reordering within ``size`` numbers of the highest one seen.
///
/// ``check(_:)`` only looks; ``accept(_:)`` records the number. Callers check, then
/// authenticate the record, and accept only what authenticated, so forged records cannot move
/// the window.
public struct ReplayWindow: Hashable, Sendable {
    public enum Verdict: Hashable, Sendable {
        /// Not seen yet and inside (or ahead of) the window.
        case fresh
        /// Seen already.
        case duplicate
        /// Older than the window: can no longer be told apart from a replay.
        case tooOld
    }

    /// How many sequence numbers below the highest are remembered (a multiple of 64).
    public let size: Int
    /// The highest accepted sequence number, nil before the first.
    public private(set) var highest: UInt64?
    private var words: [UInt64]

    public init(size: Int = 1024) {
        let rounded = max(64, (size + 63) / 64 * 64)
        self.size = rounded
        self.words = Array(repeating: 0, count: rounded / 64)
    }

    public func check(_ sequence: UInt64) -> Verdict {
        guard let highest else { return .fresh }
        if sequence > highest { return .fresh }
        if highest - sequence >= UInt64(size) { return .tooOld }
        return isSet(sequence) ? .duplicate : .fresh
    }

    /// Records `sequence`; it must have been checked ``Verdict/fresh``.
    public mutating func accept(_ sequence: UInt64) {
        if let highest, sequence <= highest {
            set(sequence)
            return
        }
        if let highest, sequence - highest < UInt64(size) {
            var slot = highest + 1
            while slot <= sequence {
                clear(slot)
                slot += 1
            }
        } else {
            for index in words.indices { words[index] = 0 }
        }
        set(sequence)
        highest = sequence
    }

    private func position(_ sequence: UInt64) -> (Int, UInt64) {
        let bit = Int(sequence % UInt64(size))
        return (bit / 64, 1 << UInt64(bit % 64))
    }

    private func isSet(_ sequence: UInt64) -> Bool {
        let (word, mask) = position(sequence)
        return words[word] & mask != 0
    }

    private mutating func set(_ sequence: UInt64) {
        let (word, mask) = position(sequence)
        words[word] |= mask
    }

    private mutating func clear(_ sequence: UInt64) {
        let (word, mask) = position(sequence)
        words[word] &= ~mask
    }
}
