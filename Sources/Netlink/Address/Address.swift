import NetPrimitives

/// The scope of an address or route (`ip addr ... scope`, `ip route ... scope`).
public struct Scope: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `scope global`.
    public static let universe = Scope(rawValue: 0)
    public static let site = Scope(rawValue: 200)
    /// `scope link`.
    public static let link = Scope(rawValue: 253)
    /// `scope host`.
    public static let host = Scope(rawValue: 254)
    public static let nowhere = Scope(rawValue: 255)

    public var description: String {
        switch rawValue {
        case 0: "global"
        case 200: "site"
        case 253: "link"
        case 254: "host"
        case 255: "nowhere"
        default: String(rawValue)
        }
    }
}

/// An IP address on a device (`ip addr`).
public struct Address: Hashable, Sendable, CustomStringConvertible {
    /// Address flags (`ip addr` "noprefixroute", "nodad", "permanent").
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Skip duplicate address detection (IPv6) (`nodad`).
        public static let noDuplicateAddressDetection = Flags(rawValue: 0x02)
        public static let permanent = Flags(rawValue: 0x80)
        /// Do not add the prefix route for the address's network (`noprefixroute`).
        public static let noPrefixRoute = Flags(rawValue: 0x200)
    }

    /// The local address with its prefix length (`10.0.0.1/24`).
    public var network: IPNetwork
    /// The remote end of a point-to-point address (`peer 10.0.0.2/32`).
    public var peer: IPNetwork?
    public var scope: Scope
    public var flags: Flags
    /// The device's index, as reported by the kernel; ignored in requests, which name the
    /// device explicitly.
    public var linkIndex: Int

    public init(_ network: IPNetwork, peer: IPNetwork? = nil, scope: Scope = .universe, flags: Flags = [], linkIndex: Int = 0) {
        self.network = network
        self.peer = peer
        self.scope = scope
        self.flags = flags
        self.linkIndex = linkIndex
    }

    public var description: String {
        "\(network)" + (peer.map { " peer \($0)" } ?? "") + " scope \(scope)"
            + (flags.contains(.noPrefixRoute) ? " noprefixroute" : "")
    }
}

enum AddressRequest {
    typealias K = RouteNetlinkConstant

    static func family(_ family: IPAddress.Family?) -> UInt8 {
        switch family {
        case .v4?: UInt8(K.AF_INET)
        case .v6?: UInt8(K.AF_INET6)
        case nil: UInt8(K.AF_UNSPEC)
        }
    }

    static func build(type: Int, flags: Int, _ address: Address, index: Int, verb: String) throws -> NetlinkRequest {
        if let peer = address.peer, peer.family != address.network.family {
            throw NetlinkError(.invalidArgument, operation: "ip addr \(verb) \(address) (peer family differs)")
        }
        let builder = RouteNetlinkMessageBuilder(type: type, flags: flags)
        let prefix = address.peer?.prefixLength ?? address.network.prefixLength
        builder.appendHeader([family(address.network.family), UInt8(prefix), UInt8(address.flags.rawValue & 0xFF),
                              address.scope.rawValue] + RouteNetlinkBytes.encode(UInt32(index)))
        builder.put(K.IFA_LOCAL, address: address.network.address)
        builder.put(K.IFA_ADDRESS, address: address.peer?.address ?? address.network.address)
        if address.flags.rawValue > 0xFF { builder.put(K.IFA_FLAGS, uint32: address.flags.rawValue) }
        return try builder.finish { "ip addr \(verb) \(address) dev index \(index)" }
    }
}

extension Address {
    init?(reply: NetlinkReply) {
        typealias K = RouteNetlinkConstant
        guard reply.payload.count >= K.size_ifaddrmsg else { return nil }
        let header = reply.payload
        let prefixLength = Int(header[header.startIndex + 1])
        let attributes = reply.attributes(after: K.size_ifaddrmsg)
        let local = attributes.address(K.IFA_LOCAL)
        let remote = attributes.address(K.IFA_ADDRESS)
        guard let mine = local ?? remote, let network = try? IPNetwork(address: mine, prefixLength: prefixLength) else { return nil }
        self.network = network
        if let local, let remote, local != remote {
            peer = try? IPNetwork(address: remote, prefixLength: prefixLength)
            self.network = (try? IPNetwork(address: local, prefixLength: mine.family.bitWidth)) ?? network
        }
        scope = Scope(rawValue: header[header.startIndex + 3])
        flags = Flags(rawValue: attributes.uint32(K.IFA_FLAGS) ?? UInt32(header[header.startIndex + 2]))
        linkIndex = Int(RouteNetlinkBytes.uint32(header, at: 4))
    }
}
