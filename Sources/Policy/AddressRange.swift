import NetPrimitives

/// A closed range of addresses of one family: the element type of an interval address set
/// (`type ipv4_addr; flags interval`).
public struct AddressRange: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let lowerBound: IPAddress
    public let upperBound: IPAddress

    /// `nil` when the bounds differ in family or are out of order.
    public init?(_ lowerBound: IPAddress, _ upperBound: IPAddress) {
        guard lowerBound.family == upperBound.family, lowerBound <= upperBound else { return nil }
        self.lowerBound = lowerBound
        self.upperBound = upperBound
    }

    public init(address: IPAddress) {
        lowerBound = address
        upperBound = address
    }

    public init(network: IPNetwork) {
        lowerBound = network.firstAddress
        upperBound = network.lastAddress
    }

    public var family: IPAddress.Family { lowerBound.family }

    public func contains(_ address: IPAddress) -> Bool {
        address.family == family && lowerBound <= address && address <= upperBound
    }

    /// `10.0.0.1`, `10.0.0.0/24` when the range is exactly a network, else `10.0.0.3-10.0.0.9`
    /// (the nftables element spellings).
    public var description: String {
        if lowerBound == upperBound { return lowerBound.description }
        let span = upperBound.numericValue - lowerBound.numericValue
        if span < UInt128.max, (span + 1).nonzeroBitCount == 1 {
            let hostBits = (span + 1).trailingZeroBitCount
            if lowerBound.numericValue & span == 0,
               let network = try? IPNetwork(address: lowerBound, prefixLength: family.bitWidth - hostBits) {
                return network.description
            }
        }
        return "\(lowerBound)-\(upperBound)"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.lowerBound, lhs.upperBound) < (rhs.lowerBound, rhs.upperBound)
    }

    /// The addresses of `networks` minus those of `excluded`, of one `family`, as sorted,
    /// merged, non-overlapping ranges.
    public static func ranges(
        of networks: [IPNetwork], excluding excluded: [IPNetwork], family: IPAddress.Family
    ) -> [AddressRange] {
        var intervals: [(UInt128, UInt128)] = networks.filter { $0.family == family }
            .map { ($0.firstAddress.numericValue, $0.lastAddress.numericValue) }
        for network in excluded where network.family == family {
            let (low, high) = (network.firstAddress.numericValue, network.lastAddress.numericValue)
            intervals = intervals.flatMap { interval -> [(UInt128, UInt128)] in
                if high < interval.0 || low > interval.1 { return [interval] }
                var pieces: [(UInt128, UInt128)] = []
                if low > interval.0 { pieces.append((interval.0, low - 1)) }
                if high < interval.1 { pieces.append((high + 1, interval.1)) }
                return pieces
            }
        }
        intervals.sort { $0.0 < $1.0 }
        var merged: [(UInt128, UInt128)] = []
        for interval in intervals {
            if let last = merged.last, last.1 == UInt128.max || interval.0 <= last.1 + 1 {
                merged[merged.count - 1].1 = max(last.1, interval.1)
            } else {
                merged.append(interval)
            }
        }
        return merged.compactMap { low, high in
            guard let lower = IPAddress(family: family, numericValue: low),
                  let upper = IPAddress(family: family, numericValue: high) else { return nil }
            return AddressRange(lower, upper)
        }
    }
}
