import NetPrimitives

enum NeighborRequest {
    typealias K = RouteNetlinkConstant

    enum Verb: String { case add, replace, append, delete = "del" }

    static func familyCode(_ family: Neighbor.Family?) -> UInt8 {
        switch family {
        case .ipv4?: UInt8(K.AF_INET)
        case .ipv6?: UInt8(K.AF_INET6)
        case .bridge?: UInt8(K.AF_BRIDGE)
        case nil: UInt8(K.AF_UNSPEC)
        }
    }

    static func header(family: Neighbor.Family?, index: Int, state: UInt16, flags: UInt8) -> [UInt8] {
        [familyCode(family), 0, 0, 0] + RouteNetlinkBytes.encode(Int32(index)) + RouteNetlinkBytes.encode(state) + [flags, 0]
    }

    /// The family byte is written into the header directly, so the FDB pitfall of libnl's
    /// object API (NDA_DST set after the family is taken as an AF_BRIDGE address) cannot occur.
    static func build(_ neighbor: Neighbor, index: Int, verb: Verb) throws -> NetlinkRequest {
        if neighbor.family != .bridge {
            guard let address = neighbor.address,
                address.family == (neighbor.family == .ipv4 ? .v4 : .v6)
            else { throw NetlinkError(.invalidArgument, operation: "ip neigh \(verb.rawValue) \(neighbor) (address missing or of the wrong family)") }
        } else if neighbor.macAddress == nil {
            throw NetlinkError(.invalidArgument, operation: "bridge fdb \(verb.rawValue) \(neighbor) (MAC address missing)")
        }
        let flags: Int
        switch verb {
        case .add: flags = K.NLM_F_CREATE | K.NLM_F_EXCL
        case .replace: flags = K.NLM_F_CREATE | K.NLM_F_REPLACE
        case .append: flags = K.NLM_F_CREATE | K.NLM_F_APPEND
        case .delete: flags = 0
        }
        let builder = RouteNetlinkMessageBuilder(type: verb == .delete ? K.RTM_DELNEIGH : K.RTM_NEWNEIGH, flags: flags)
        builder.appendHeader(header(family: neighbor.family, index: index, state: neighbor.state.rawValue, flags: neighbor.flags.rawValue))
        if let address = neighbor.address { builder.put(K.NDA_DST, address: address) }
        if let mac = neighbor.macAddress { builder.put(K.NDA_LLADDR, bytes: mac.bytes) }
        let command = neighbor.family == .bridge ? "bridge fdb" : "ip neigh"
        return try builder.finish { "\(command) \(verb.rawValue) \(neighbor) dev index \(index)" }
    }
}

extension Neighbor {
    init?(reply: NetlinkReply) {
        typealias K = RouteNetlinkConstant
        let header = reply.payload
        guard header.count >= K.size_ndmsg else { return nil }
        switch Int(header[header.startIndex]) {
        case K.AF_INET: family = .ipv4
        case K.AF_INET6: family = .ipv6
        case K.AF_BRIDGE: family = .bridge
        default: return nil
        }
        let attributes = reply.attributes(after: K.size_ndmsg)
        linkIndex = Int(RouteNetlinkBytes.int32(header, at: 4))
        state = State(rawValue: RouteNetlinkBytes.uint16(header, at: 8))
        flags = Flags(rawValue: header[header.startIndex + 10])
        address = attributes.address(K.NDA_DST)
        macAddress = attributes.macAddress(K.NDA_LLADDR)
    }
}
