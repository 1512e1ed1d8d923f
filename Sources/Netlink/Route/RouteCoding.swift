import NetPrimitives

/// Encoding and decoding of RTM_NEWROUTE / RTM_DELROUTE messages (rtmsg + RTA_* attributes).
enum RouteRequest {
    typealias K = RouteNetlinkConstant

    enum Verb: String { case add, replace, delete = "del", append }

    static func build(_ route: Route, verb: Verb, resolve: (InterfaceName) throws -> Int) throws -> NetlinkRequest {
        let family = route.destination.family
        let isDelete = verb == .delete
        let flags: Int
        switch verb {
        case .add: flags = K.NLM_F_CREATE | K.NLM_F_EXCL
        case .replace: flags = K.NLM_F_CREATE | K.NLM_F_REPLACE
        case .append: flags = K.NLM_F_CREATE | K.NLM_F_APPEND
        case .delete: flags = 0
        }
        var hops: [(hop: Route.NextHop, index: Int?)] = []
        for hop in route.nextHops {
            if let gateway = hop.gateway, gateway.family != family {
                throw NetlinkError(.invalidArgument, operation: "ip route \(verb.rawValue) \(route) (gateway family differs from destination)")
            }
            var index = hop.deviceIndex
            if let device = hop.device { index = try resolve(device) }
            hops.append((hop, index))
        }
        let scope: Scope
        if isDelete {
            scope = route.scope ?? .nowhere
        } else if let explicit = route.scope {
            scope = explicit
        } else {
            scope = route.kind == .unicast && route.nextHops.allSatisfy({ $0.gateway == nil }) ? .link : .universe
        }
        let builder = RouteNetlinkMessageBuilder(type: isDelete ? K.RTM_DELROUTE : K.RTM_NEWROUTE, flags: flags)
        let onLink = hops.count == 1 && hops[0].hop.isOnLink ? UInt32(K.RTNH_F_ONLINK) : 0
        builder.appendHeader([
            AddressRequest.family(family), UInt8(route.destination.prefixLength), 0, 0,
            UInt8(route.table.rawValue < 256 ? route.table.rawValue : 252), route.protocolTag.rawValue, scope.rawValue, route.kind.rawValue,
        ] + RouteNetlinkBytes.encode(onLink))
        builder.put(K.RTA_DST, address: route.destination.network.address)
        builder.put(K.RTA_TABLE, uint32: route.table.rawValue)
        if let metric = route.metric { builder.put(K.RTA_PRIORITY, uint32: UInt32(metric)) }
        if let source = route.source { builder.put(K.RTA_PREFSRC, address: source) }
        if route.mtu != nil || route.advertisedMSS != nil {
            builder.nested(K.RTA_METRICS) {
                if let mtu = route.mtu { builder.put(K.RTAX_MTU, uint32: UInt32(mtu)) }
                if let mss = route.advertisedMSS { builder.put(K.RTAX_ADVMSS, uint32: UInt32(mss)) }
            }
        }
        if hops.count == 1 {
            if let gateway = hops[0].hop.gateway { builder.put(K.RTA_GATEWAY, address: gateway) }
            if let index = hops[0].index { builder.put(K.RTA_OIF, uint32: UInt32(index)) }
        } else if hops.count > 1 {
            var payload: [UInt8] = []
            for (hop, index) in hops {
                let gateway: [UInt8] = hop.gateway.map { attribute(K.RTA_GATEWAY, $0.bytes) } ?? []
                let length = K.size_rtnexthop + gateway.count
                payload += RouteNetlinkBytes.encode(UInt16(length))
                payload += [UInt8(hop.isOnLink ? K.RTNH_F_ONLINK : 0), UInt8(max(1, min(256, hop.weight)) - 1)]
                payload += RouteNetlinkBytes.encode(Int32(index ?? 0)) + gateway
            }
            builder.put(K.RTA_MULTIPATH, bytes: payload)
        }
        return try builder.finish { "ip route \(verb.rawValue) \(route)" }
    }

    static func attribute(_ type: Int, _ value: [UInt8]) -> [UInt8] {
        let length = 4 + value.count
        var bytes = RouteNetlinkBytes.encode(UInt16(length)) + RouteNetlinkBytes.encode(UInt16(type)) + value
        bytes += [UInt8](repeating: 0, count: RouteNetlinkBytes.aligned(length) - length)
        return bytes
    }
}

extension Route {
    /// Decodes an RTM_NEWROUTE/RTM_DELROUTE message. Device names are not filled in here.
    init?(reply: NetlinkReply) {
        typealias K = RouteNetlinkConstant
        let header = reply.payload
        guard header.count >= K.size_rtmsg else { return nil }
        let base = header.startIndex
        let familyCode = Int(header[base])
        guard familyCode == K.AF_INET || familyCode == K.AF_INET6 else { return nil }
        let family: IPAddress.Family = familyCode == K.AF_INET ? .v4 : .v6
        let attributes = reply.attributes(after: K.size_rtmsg)
        let zero = IPAddress(family: family, numericValue: 0)!
        guard let destination = try? IPNetwork(address: attributes.address(K.RTA_DST) ?? zero, prefixLength: Int(header[base + 1]))
        else { return nil }
        self.init(destination: destination)
        table = Table(rawValue: attributes.uint32(K.RTA_TABLE) ?? UInt32(header[base + 4]))
        protocolTag = ProtocolTag(rawValue: header[base + 5])
        scope = Scope(rawValue: header[base + 6])
        kind = Kind(rawValue: header[base + 7])
        let flags = RouteNetlinkBytes.uint32(header, at: 8)
        source = attributes.address(K.RTA_PREFSRC)
        metric = attributes.uint32(K.RTA_PRIORITY).map(Int.init)
        if let metrics = attributes.nested(K.RTA_METRICS) {
            mtu = metrics.uint32(K.RTAX_MTU).map(Int.init)
            advertisedMSS = metrics.uint32(K.RTAX_ADVMSS).map(Int.init)
        }
        if let multipath = attributes[K.RTA_MULTIPATH] {
            var offset = multipath.startIndex
            while multipath.endIndex - offset >= K.size_rtnexthop {
                let length = Int(RouteNetlinkBytes.uint16(multipath, at: offset - multipath.startIndex))
                guard length >= K.size_rtnexthop, offset + length <= multipath.endIndex else { break }
                let hopFlags = Int(multipath[offset + 2])
                let index = Int(RouteNetlinkBytes.int32(multipath, at: offset - multipath.startIndex + 4))
                let hopAttributes = RouteNetlinkAttributes(multipath[(offset + K.size_rtnexthop)..<(offset + length)])
                nextHops.append(NextHop(
                    gateway: hopAttributes.address(K.RTA_GATEWAY), deviceIndex: index == 0 ? nil : index,
                    isOnLink: hopFlags & K.RTNH_F_ONLINK != 0, weight: Int(multipath[offset + 3]) + 1))
                offset += RouteNetlinkBytes.aligned(length)
            }
        } else if attributes.has(K.RTA_GATEWAY) || attributes.has(K.RTA_OIF) {
            nextHops = [NextHop(
                gateway: attributes.address(K.RTA_GATEWAY), deviceIndex: attributes.uint32(K.RTA_OIF).map(Int.init),
                isOnLink: flags & UInt32(K.RTNH_F_ONLINK) != 0)]
        }
    }
}
