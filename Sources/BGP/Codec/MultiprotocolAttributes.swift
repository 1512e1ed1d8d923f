import NIOCore
import NetPrimitives

/// MP_REACH_NLRI (RFC 4760 §3): reachable prefixes of another address family and their next
/// hop(s). An IPv6 next hop may be a global address followed by a link-local one.
public struct MultiprotocolReach: Hashable, Sendable {
    public var family: AddressFamily
    public var nextHops: [IPAddress]
    public var prefixes: [BGPPrefix]

    public init(family: AddressFamily, nextHops: [IPAddress], prefixes: [BGPPrefix]) {
        self.family = family
        self.nextHops = nextHops
        self.prefixes = prefixes
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(family.afi)
        buffer.writeInteger(family.safi)
        let hops = nextHops.flatMap(\.bytes)
        buffer.writeInteger(UInt8(hops.count))
        buffer.writeBytes(hops)
        buffer.writeInteger(UInt8(0))
        for prefix in prefixes { prefix.write(to: &buffer) }
    }

    /// Reads the value; throws a session reset when malformed (RFC 7606 §7.11: the NLRI cannot
    /// be located, so treat-as-withdraw is impossible).
    static func read(from value: inout ByteBuffer) throws -> MultiprotocolReach {
        guard let afi = value.readInteger(as: UInt16.self), let safi = value.readInteger(as: UInt8.self),
            let hopLength = value.readInteger(as: UInt8.self), var hops = value.readSlice(length: Int(hopLength)),
            value.readInteger(as: UInt8.self) != nil
        else { throw BGPError.reset(3, 9, "malformed MP_REACH_NLRI") }
        let family = AddressFamily(afi: afi, safi: safi)
        var nextHops: [IPAddress] = []
        let addressFamily: IPAddress.Family
        switch afi {
        case 1: addressFamily = .v4
        case 2: addressFamily = .v6
        default: throw BGPError.reset(3, 9, "MP_REACH_NLRI for unsupported AFI \(afi)")
        }
        let size = addressFamily == .v4 ? 4 : 16
        // IPv4 routes may carry an IPv6 next hop (RFC 8950); accept 4, 16 or 32 octets.
        guard hopLength == 4 || hopLength == 16 || hopLength == 32 else {
            throw BGPError.reset(3, 9, "MP_REACH_NLRI next hop length \(hopLength) invalid for \(family)")
        }
        _ = size
        while hops.readableBytes > 0 {
            let width = hops.readableBytes == 4 ? 4 : 16
            nextHops.append(IPAddress(bytes: hops.readBytes(length: width)!)!)
        }
        var prefixes: [BGPPrefix] = []
        try BGPPrefix.readAll(addressFamily, from: &value, into: &prefixes)
        return MultiprotocolReach(family: family, nextHops: nextHops, prefixes: prefixes)
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4): withdrawn prefixes of another address family.
public struct MultiprotocolUnreach: Hashable, Sendable {
    public var family: AddressFamily
    public var prefixes: [BGPPrefix]

    public init(family: AddressFamily, prefixes: [BGPPrefix]) {
        self.family = family
        self.prefixes = prefixes
    }

    func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(family.afi)
        buffer.writeInteger(family.safi)
        for prefix in prefixes { prefix.write(to: &buffer) }
    }

    static func read(from value: inout ByteBuffer) throws -> MultiprotocolUnreach {
        guard let afi = value.readInteger(as: UInt16.self), let safi = value.readInteger(as: UInt8.self) else {
            throw BGPError.reset(3, 9, "malformed MP_UNREACH_NLRI")
        }
        let addressFamily: IPAddress.Family
        switch afi {
        case 1: addressFamily = .v4
        case 2: addressFamily = .v6
        default: throw BGPError.reset(3, 9, "MP_UNREACH_NLRI for unsupported AFI \(afi)")
        }
        var prefixes: [BGPPrefix] = []
        try BGPPrefix.readAll(addressFamily, from: &value, into: &prefixes)
        return MultiprotocolUnreach(family: AddressFamily(afi: afi, safi: safi), prefixes: prefixes)
    }
}
