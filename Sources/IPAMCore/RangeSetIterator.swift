import NetPrimitives

/// The order in which host-local tries addresses of one range set: round-robin from the address
/// after the last reserved one (when it lies in the set), otherwise from the first range's
/// start; every range from start to end inclusive, the gateway skipped, until the walk returns
/// to where it began. Pure: the caller decides whether a candidate is free.
public struct RangeSetIterator: IteratorProtocol, Sequence, Sendable {
    public struct Candidate: Hashable, Sendable {
        public var address: IPAddress
        public var rangeIndex: Int
    }

    private let ranges: [CanonicalRange]
    private var rangeIndex = 0
    private var current: IPAddress?
    private var startAddress: IPAddress?

    public init(ranges: [CanonicalRange], lastReserved: IPAddress?) {
        self.ranges = ranges
        if let lastReserved, let index = ranges.firstIndex(where: { $0.contains(lastReserved) }) {
            rangeIndex = index
            current = lastReserved
        } else {
            startAddress = ranges.first?.start
        }
    }

    public mutating func next() -> Candidate? {
        guard !ranges.isEmpty else { return nil }
        // Bounded loop instead of recursion: skip at most one gateway per range visited.
        for _ in 0...(ranges.count * 2) {
            var range = ranges[rangeIndex]
            guard let position = current else {
                current = range.start
                startAddress = range.start
                if range.start == range.gateway { continue }
                return Candidate(address: range.start, rangeIndex: rangeIndex)
            }
            if position == range.end {
                rangeIndex = (rangeIndex + 1) % ranges.count
                range = ranges[rangeIndex]
                current = range.start
            } else {
                current = position.advanced(by: 1)
            }
            if startAddress == nil {
                startAddress = current
            } else if current == startAddress {
                return nil
            }
            if current == range.gateway { continue }
            return Candidate(address: current!, rangeIndex: rangeIndex)
        }
        return nil
    }
}
