import Netlink
import NetPrimitives

/// An L4 protocol as `meta l4proto` and the port matchers see it.
public enum NftablesTransportProtocol: String, Hashable, Sendable, CaseIterable {
    case tcp, udp, sctp, icmp
    case icmpv6 = "ipv6-icmp"

    /// IANA protocol number.
    public var number: UInt8 {
        switch self {
        case .tcp: 6
        case .udp: 17
        case .sctp: 132
        case .icmp: 1
        case .icmpv6: 58
        }
    }

    init?(number: UInt8) {
        guard let value = Self.allCases.first(where: { $0.number == number }) else { return nil }
        self = value
    }
}

/// A typed value: a set element key component, a map value, or a matcher operand.
public enum NftablesValue: Hashable, Sendable, CustomStringConvertible {
    case address(IPAddress)
    /// A prefix; only in sets with the interval flag (`10.0.0.0/8`).
    case network(IPNetwork)
    /// An inclusive address range; only in interval sets (`10.0.0.1-10.0.0.9`).
    case addressRange(IPAddress, IPAddress)
    case port(UInt16)
    /// An inclusive port range; only in interval sets (`1000-2000`).
    case portRange(ClosedRange<UInt16>)
    case interfaceName(String)
    case mark(UInt32)
    case l4Protocol(NftablesTransportProtocol)

    /// The value as `nft` writes it.
    public var description: String {
        switch self {
        case .address(let address): "\(address)"
        case .network(let network):
            network.prefixLength == network.family.bitWidth
                ? "\(network.network.address)" : "\(network.network)"
        case .addressRange(let low, let high): "\(low)-\(high)"
        case .port(let port): "\(port)"
        case .portRange(let range):
            range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
        case .interfaceName(let name): "\"\(name)\""
        case .mark(let mark): NftablesValue.hex(mark)
        case .l4Protocol(let proto): proto.rawValue
        }
    }

    /// Whether this value spans an interval (needs a set with the interval flag).
    var isInterval: Bool {
        switch self {
        case .network(let network): network.prefixLength < network.family.bitWidth
        case .addressRange(let low, let high): low != high
        case .portRange(let range): range.lowerBound != range.upperBound
        default: false
        }
    }

    /// The first and last value of the interval this value covers, encoded for `type`.
    func encodedBounds(as type: NftablesDataType, operation: String) throws(NetlinkError) -> (low: [UInt8], high: [UInt8]) {
        func refuse() -> NetlinkError {
            NetlinkError(.invalidArgument, operation: operation, kernelMessage: "value \(self) is not of type \(type.rawValue)")
        }
        func addressBytes(_ address: IPAddress) throws(NetlinkError) -> [UInt8] {
            switch (type, address.family) {
            case (.ipv4Address, .v4), (.ipv6Address, .v6): return address.bytes
            default: throw refuse()
            }
        }
        switch self {
        case .address(let address):
            let bytes = try addressBytes(address)
            return (bytes, bytes)
        case .network(let network):
            return (try addressBytes(network.firstAddress), try addressBytes(network.lastAddress))
        case .addressRange(let low, let high):
            guard low <= high else { throw refuse() }
            return (try addressBytes(low), try addressBytes(high))
        case .port(let port):
            guard type == .port else { throw refuse() }
            return (port.bigEndianBytes, port.bigEndianBytes)
        case .portRange(let range):
            guard type == .port else { throw refuse() }
            return (range.lowerBound.bigEndianBytes, range.upperBound.bigEndianBytes)
        case .interfaceName(let name):
            guard type == .interfaceName else { throw refuse() }
            let bytes = try NftablesValue.interfaceNameBytes(name, operation: operation)
            return (bytes, bytes)
        case .mark(let mark):
            guard type == .mark else { throw refuse() }
            return (mark.hostBytes, mark.hostBytes)
        case .l4Protocol(let proto):
            guard type == .l4Protocol else { throw refuse() }
            return ([proto.number], [proto.number])
        }
    }

    /// A single (non-interval) value encoded for `type`.
    func encoded(as type: NftablesDataType, operation: String) throws(NetlinkError) -> [UInt8] {
        let bounds = try encodedBounds(as: type, operation: operation)
        guard bounds.low == bounds.high else {
            throw NetlinkError(
                .invalidArgument, operation: operation,
                kernelMessage: "\(self) is an interval; the set needs the interval flag")
        }
        return bounds.low
    }

    /// An interface name as the kernel compares it: 16 bytes, NUL padded.
    static func interfaceNameBytes(_ name: String, operation: String) throws(NetlinkError) -> [UInt8] {
        let utf8 = Array(name.utf8)
        guard !utf8.isEmpty, utf8.count <= 15, !utf8.contains(0) else {
            throw NetlinkError(
                .invalidArgument, operation: operation,
                kernelMessage: "interface name \"\(name)\" must be 1 to 15 bytes")
        }
        return utf8 + [UInt8](repeating: 0, count: 16 - utf8.count)
    }

    /// Decodes a value of `type` from register bytes (inverse of ``encoded(as:operation:)``).
    static func decode(_ bytes: [UInt8], as type: NftablesDataType) -> NftablesValue? {
        guard bytes.count >= type.length else { return nil }
        let bytes = Array(bytes.prefix(type.length))
        switch type {
        case .ipv4Address, .ipv6Address:
            return IPAddress(bytes: bytes).map { .address($0) }
        case .port:
            return .port(UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
        case .interfaceName:
            return .interfaceName(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
        case .mark:
            return .mark(bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        case .l4Protocol:
            return NftablesTransportProtocol(number: bytes[0]).map { .l4Protocol($0) }
        }
    }

    /// Turns a decoded interval [low, high] back into the most natural value.
    static func interval(low: NftablesValue, high: NftablesValue) -> NftablesValue {
        switch (low, high) {
        case (.address(let first), .address(let last)):
            if first >= last || first.family != last.family { return .address(first) }
            let span = last.numericValue - first.numericValue
            if span < UInt128.max, (span + 1) & span == 0 {
                let hostBits = (span + 1).trailingZeroBitCount
                if let network = try? IPNetwork(address: first, prefixLength: first.family.bitWidth - hostBits),
                    network.network.address == first
                {
                    return .network(network)
                }
            }
            return .addressRange(first, last)
        case (.port(let first), .port(let last)):
            return first >= last ? .port(first) : .portRange(first...last)
        default:
            return low
        }
    }
}

extension UInt16 {
    var bigEndianBytes: [UInt8] { [UInt8(self >> 8), UInt8(self & 0xFF)] }
}

extension UInt32 {
    /// The value in host byte order (how the kernel holds marks and ct state bits).
    var hostBytes: [UInt8] { withUnsafeBytes(of: self) { Array($0) } }
}

extension NftablesValue {
    /// `0x00000010`: how `nft` prints marks.
    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// Byte-array arithmetic for interval ends.
enum NftablesBytes {
    /// `bytes + 1` read as a big-endian number; nil when it overflows (the interval runs to the end).
    static func successor(ofBigEndian bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        for index in result.indices.reversed() {
            if result[index] == 0xFF {
                result[index] = 0
            } else {
                result[index] += 1
                return result
            }
        }
        return nil
    }

    /// `bytes - 1` read as a big-endian number.
    static func predecessor(ofBigEndian bytes: [UInt8]) -> [UInt8] {
        var result = bytes
        for index in result.indices.reversed() {
            if result[index] == 0 {
                result[index] = 0xFF
            } else {
                result[index] -= 1
                return result
            }
        }
        return result
    }
}
