import NetPrimitives

extension Link {
    /// Decodes an RTM_NEWLINK message (ifinfomsg + IFLA_* attributes).
    init?(reply: NetlinkReply) {
        typealias K = RouteNetlinkConstant
        guard reply.type == K.RTM_NEWLINK || reply.type == K.RTM_DELLINK,
            reply.payload.count >= K.size_ifinfomsg
        else { return nil }
        let header = reply.payload
        let attributes = reply.attributes(after: K.size_ifinfomsg)
        let flags = RouteNetlinkBytes.uint32(header, at: 8)
        index = Int(RouteNetlinkBytes.int32(header, at: 4))
        name = attributes.string(K.IFLA_IFNAME) ?? ""
        isUp = flags & UInt32(K.IFF_UP) != 0
        hasCarrier = flags & UInt32(K.IFF_LOWER_UP) != 0
        operationalState = Self.operationalState(attributes.uint8(K.IFLA_OPERSTATE) ?? 0)
        mtu = Int(attributes.uint32(K.IFLA_MTU) ?? 0)
        macAddress = attributes.macAddress(K.IFLA_ADDRESS)
        masterIndex = attributes.uint32(K.IFLA_MASTER).map(Int.init).flatMap { $0 == 0 ? nil : $0 }
        parentIndex = attributes.uint32(K.IFLA_LINK).map { Int(Int32(bitPattern: $0)) }
            .flatMap { $0 == 0 || $0 == index ? nil : $0 }
        parentNamespaceID = attributes.uint32(K.IFLA_LINK_NETNSID).map { Int(Int32(bitPattern: $0)) }
        kind = nil
        if let info = attributes.nested(K.IFLA_LINKINFO) {
            kind = info.string(K.IFLA_INFO_KIND).map { Kind(rawValue: $0) }
            let data = info.nested(K.IFLA_INFO_DATA)
            switch kind {
            case .vxlan?: vxlan = data.map(Self.vxlanOptions)
            case .bridge?: bridge = BridgeOptions(vlanFiltering: (data?.uint8(K.IFLA_BR_VLAN_FILTERING) ?? 0) != 0)
            case .macvlan?: macvlanMode = data?.uint32(K.IFLA_MACVLAN_MODE).flatMap(MacvlanMode.init(kernelValue:))
            default: break
            }
            if info.string(K.IFLA_INFO_SLAVE_KIND) == "bridge", let port = info.nested(K.IFLA_INFO_SLAVE_DATA) {
                isHairpin = (port.uint8(K.IFLA_BRPORT_MODE) ?? 0) != 0
                isIsolated = (port.uint8(K.IFLA_BRPORT_ISOLATED) ?? 0) != 0
            }
        }
    }

    private static func vxlanOptions(_ data: RouteNetlinkAttributes) -> VXLANOptions {
        typealias K = RouteNetlinkConstant
        var options = VXLANOptions(
            identifier: data.uint32(K.IFLA_VXLAN_ID) ?? 0,
            localAddress: data.address(K.IFLA_VXLAN_LOCAL) ?? data.address(K.IFLA_VXLAN_LOCAL6),
            port: data.bigEndianUInt16(K.IFLA_VXLAN_PORT),
            learning: (data.uint8(K.IFLA_VXLAN_LEARNING) ?? 0) != 0,
            groupPolicy: data.has(K.IFLA_VXLAN_GBP),
            timeToLive: data.uint8(K.IFLA_VXLAN_TTL).flatMap { $0 == 0 ? nil : $0 },
            udpChecksum: (data.uint8(K.IFLA_VXLAN_UDP_CSUM) ?? 0) != 0)
        options.underlayIndex = data.uint32(K.IFLA_VXLAN_LINK).map(Int.init).flatMap { $0 == 0 ? nil : $0 }
        return options
    }

    private static func operationalState(_ value: UInt8) -> OperationalState {
        switch value {
        case 1: .notPresent
        case 2: .down
        case 3: .lowerLayerDown
        case 4: .testing
        case 5: .dormant
        case 6: .up
        default: .unknown
        }
    }
}
