/// A CIDR network or an interface address with its prefix: "10.244.1.0/24", "10.244.1.5/24",
/// "fd00::/64".
///
/// The address keeps its host bits as written, because CNI results carry interface addresses
/// ("10.244.1.5/24"); ``network`` clears them. Two values are equal only when address and prefix
/// both match. Encodes to JSON as its text.
public struct IPNetwork: Hashable, Sendable {
    public let address: IPAddress
    public let prefixLength: Int

    /// Throws when the prefix is longer than the family allows.
    public init(address: IPAddress, prefixLength: Int) throws {
        guard prefixLength >= 0, prefixLength <= address.family.bitWidth else {
            throw NetPrimitivesError(.invalidPrefixLength, input: "\(address)/\(prefixLength)")
        }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// A host network: /32 or /128.
    public init(host address: IPAddress) {
        self.address = address
        self.prefixLength = address.family.bitWidth
    }

    /// Parses "ADDRESS/PREFIX" with a decimal prefix (no leading zeros, no sign).
    public init(parsing text: some StringProtocol) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = try? IPAddress(parsing: parts[0]) else {
            throw NetPrimitivesError(.invalidNetwork, input: String(text))
        }
        let digits = parts[1]
        guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            !(digits.count > 1 && digits.first == "0"), let prefix = Int(digits),
            prefix <= address.family.bitWidth
        else {
            throw NetPrimitivesError(.invalidNetwork, input: String(text), reason: "bad prefix length")
        }
        self.address = address
        self.prefixLength = prefix
    }

    public var family: IPAddress.Family { address.family }

    private var bitWidth: Int { family.bitWidth }

    /// The mask as a number in the low `bitWidth` bits.
    private var maskValue: UInt128 {
        let width = bitWidth
        let all: UInt128 = width == 128 ? .max : (UInt128(1) << width) - 1
        if prefixLength == 0 { return 0 }
        return all & ~((UInt128(1) << (width - prefixLength)) - 1)
    }

    /// The netmask as an address ("255.255.255.0").
    public var netmask: IPAddress { IPAddress(family: family, numericValue: maskValue)! }

    /// The same network with its host bits cleared: 10.244.1.5/24 → 10.244.1.0/24.
    public var network: IPNetwork {
        IPNetwork(unchecked: IPAddress(family: family, numericValue: address.numericValue & maskValue)!, prefixLength)
    }

    /// The first address of the network (the network address).
    public var firstAddress: IPAddress { network.address }

    /// The last address of the network (the IPv4 broadcast address).
    public var lastAddress: IPAddress {
        let hostBits = ~maskValue & (bitWidth == 128 ? UInt128.max : (UInt128(1) << bitWidth) - 1)
        return IPAddress(family: family, numericValue: (address.numericValue & maskValue) | hostBits)!
    }

    /// How many addresses the network spans, or nil when that does not fit in 64 bits.
    public var addressCount: UInt64? {
        let hostBits = bitWidth - prefixLength
        return hostBits >= 64 ? nil : UInt64(1) << hostBits
    }

    /// Whether the address lies inside this network (same family, same masked bits).
    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && other.numericValue & maskValue == address.numericValue & maskValue
    }

    /// Whether every address of `other` lies inside this network.
    public func contains(_ other: IPNetwork) -> Bool {
        other.family == family && other.prefixLength >= prefixLength && contains(other.address)
    }

    /// Whether the two networks share at least one address.
    public func overlaps(_ other: IPNetwork) -> Bool {
        contains(other) || other.contains(self)
    }

    /// The address at `offset` from the network address (0 is the network address), or nil
    /// when it lies outside the network. `nthHost(1)` of 10.244.1.0/24 is 10.244.1.1.
    public func address(at offset: UInt64) -> IPAddress? {
        if let count = addressCount, offset >= count { return nil }
        return IPAddress(family: family, numericValue: network.address.numericValue + UInt128(offset))
    }

    /// The n-th host address: the address at offset `n` from the network address (1-based hosts).
    public func nthHost(_ n: UInt64) -> IPAddress? { address(at: n) }

    /// The offset of `other` from the network address, or nil when outside.
    public func offset(of other: IPAddress) -> UInt64? {
        guard contains(other) else { return nil }
        let difference = other.numericValue - network.address.numericValue
        return difference > UInt128(UInt64.max) ? nil : UInt64(difference)
    }

    /// Every address of the network in order, network and last address included.
    public var addresses: AddressSequence { AddressSequence(network: network) }

    /// The subnets of length `newPrefixLength` in order ("split 10.244.0.0/16 into /24s").
    /// Throws when `newPrefixLength` is shorter than this prefix or too long for the family.
    public func subnets(prefixLength newPrefixLength: Int) throws -> SubnetSequence {
        guard newPrefixLength >= prefixLength, newPrefixLength <= bitWidth else {
            throw NetPrimitivesError(.invalidPrefixLength, input: "\(self) into /\(newPrefixLength)")
        }
        return SubnetSequence(parent: network, prefixLength: newPrefixLength)
    }

    /// The `index`-th subnet of length `newPrefixLength`, or nil when out of range.
    public func subnet(prefixLength newPrefixLength: Int, index: UInt64) -> IPNetwork? {
        guard newPrefixLength >= prefixLength, newPrefixLength <= bitWidth else { return nil }
        let countBits = newPrefixLength - prefixLength
        if countBits < 64, index >= UInt64(1) << countBits { return nil }
        let step = UInt128(1) << (bitWidth - newPrefixLength)
        let value = network.address.numericValue + UInt128(index) * step
        return IPNetwork(unchecked: IPAddress(family: family, numericValue: value)!, newPrefixLength)
    }

    init(unchecked address: IPAddress, _ prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    public struct AddressSequence: Sequence, Sendable {
        let network: IPNetwork

        public func makeIterator() -> Iterator {
            Iterator(current: network.address.numericValue, last: network.lastAddress.numericValue, family: network.family)
        }

        public struct Iterator: IteratorProtocol, Sendable {
            var current: UInt128
            let last: UInt128
            let family: IPAddress.Family
            var done = false

            public mutating func next() -> IPAddress? {
                guard !done else { return nil }
                let value = current
                if value == last { done = true } else { current += 1 }
                return IPAddress(family: family, numericValue: value)
            }
        }
    }

    public struct SubnetSequence: Sequence, Sendable {
        let parent: IPNetwork
        let prefixLength: Int

        public func makeIterator() -> Iterator { Iterator(sequence: self) }

        public struct Iterator: IteratorProtocol, Sendable {
            let sequence: SubnetSequence
            var index: UInt64 = 0
            var done = false

            public mutating func next() -> IPNetwork? {
                guard !done,
                    let subnet = sequence.parent.subnet(prefixLength: sequence.prefixLength, index: index)
                else { return nil }
                if index == .max { done = true } else { index += 1 }
                return subnet
            }
        }
    }
}

extension IPNetwork: LosslessStringConvertible, CustomStringConvertible {
    public init?(_ description: String) {
        guard let parsed = try? IPNetwork(parsing: description) else { return nil }
        self = parsed
    }

    public var description: String { "\(address)/\(prefixLength)" }
}

extension IPNetwork: Codable {
    public init(from decoder: any Decoder) throws {
        self = try decodeFromString(decoder) { try IPNetwork(parsing: $0) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension IPNetwork: ExpressibleByStringLiteral {
    /// For literals in code and tests; traps on an invalid literal.
    public init(stringLiteral value: String) {
        guard let parsed = IPNetwork(value) else { preconditionFailure("invalid CIDR literal \(value)") }
        self = parsed
    }
}
