import Namespaces
import NetPrimitives

/// What to create with ``NetlinkHandle/addLink(_:)`` (`ip link add NAME type KIND ...`).
public struct LinkSpecification: Sendable {
    /// The kind of device and its kind-specific options.
    public enum Kind: Sendable {
        /// A veth pair; the peer may be created directly in another namespace
        /// (`ip link add NAME type veth peer name PEER netns NS`).
        case veth(peer: VethPeer)
        /// A bridge (`type bridge vlan_filtering 0`).
        case bridge(BridgeOptions)
        /// A VXLAN tunnel endpoint (`type vxlan id ...`).
        case vxlan(VXLANOptions)
        /// A macvlan on top of `parent` (`link PARENT type macvlan mode MODE`).
        case macvlan(parent: InterfaceName, mode: MacvlanMode)
    }

    public var name: InterfaceName
    public var kind: Kind
    public var mtu: Int?
    public var macAddress: MACAddress?
    /// The bridge to enslave the new device to (`master BRIDGE`).
    public var master: InterfaceName?
    /// Create it administratively up (`up`).
    public var isUp: Bool

    public init(
        name: InterfaceName, kind: Kind, mtu: Int? = nil, macAddress: MACAddress? = nil,
        master: InterfaceName? = nil, isUp: Bool = false
    ) {
        self.name = name
        self.kind = kind
        self.mtu = mtu
        self.macAddress = macAddress
        self.master = master
        self.isUp = isUp
    }

    /// `ip link add NAME type veth peer name PEER [netns NS]`.
    public static func veth(
        _ name: InterfaceName, peer: InterfaceName, peerNamespace: NetworkNamespace? = nil, mtu: Int? = nil
    ) -> LinkSpecification {
        LinkSpecification(name: name, kind: .veth(peer: VethPeer(name: peer, namespace: peerNamespace, mtu: mtu)), mtu: mtu)
    }

    /// `ip link add NAME type bridge vlan_filtering 0`.
    public static func bridge(_ name: InterfaceName, options: BridgeOptions = BridgeOptions()) -> LinkSpecification {
        LinkSpecification(name: name, kind: .bridge(options))
    }

    /// `ip link add NAME type vxlan id VNI ...`.
    public static func vxlan(_ name: InterfaceName, options: VXLANOptions, mtu: Int? = nil) -> LinkSpecification {
        LinkSpecification(name: name, kind: .vxlan(options), mtu: mtu)
    }

    /// `ip link add NAME link PARENT type macvlan mode MODE`.
    public static func macvlan(_ name: InterfaceName, parent: InterfaceName, mode: MacvlanMode = .bridge) -> LinkSpecification {
        LinkSpecification(name: name, kind: .macvlan(parent: parent, mode: mode))
    }
}

/// The second end of a veth pair.
public struct VethPeer: Sendable {
    public var name: InterfaceName
    /// Where the peer is created (`netns NS`); nil for the handle's own namespace.
    public var namespace: NetworkNamespace?
    public var macAddress: MACAddress?
    public var mtu: Int?

    public init(name: InterfaceName, namespace: NetworkNamespace? = nil, macAddress: MACAddress? = nil, mtu: Int? = nil) {
        self.name = name
        self.namespace = namespace
        self.macAddress = macAddress
        self.mtu = mtu
    }
}

/// Encoding of link requests (RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK).
enum LinkRequest {
    typealias K = RouteNetlinkConstant

    static func header(index: Int = 0, flags: UInt32 = 0, change: UInt32 = 0) -> [UInt8] {
        [UInt8(K.AF_UNSPEC), 0, 0, 0] + RouteNetlinkBytes.encode(Int32(index))
            + RouteNetlinkBytes.encode(flags) + RouteNetlinkBytes.encode(change)
    }

    /// RTM_NEWLINK with NLM_F_CREATE | NLM_F_EXCL: fails with EEXIST instead of changing an
    /// existing device (libnl's rtnl_link_add does not ask for exclusivity).
    /// `resolve` turns a device name into its index in the handle's namespace.
    static func create(_ spec: LinkSpecification, resolve: (InterfaceName) throws -> Int) throws -> NetlinkRequest {
        let builder = RouteNetlinkMessageBuilder(type: K.RTM_NEWLINK, flags: K.NLM_F_CREATE | K.NLM_F_EXCL)
        let up = UInt32(K.IFF_UP)
        builder.appendHeader(header(flags: spec.isUp ? up : 0, change: spec.isUp ? up : 0))
        builder.put(K.IFLA_IFNAME, string: spec.name.value)
        if let mtu = spec.mtu { builder.put(K.IFLA_MTU, uint32: UInt32(mtu)) }
        if let mac = spec.macAddress { builder.put(K.IFLA_ADDRESS, bytes: mac.bytes) }
        if let master = spec.master { builder.put(K.IFLA_MASTER, uint32: UInt32(try resolve(master))) }
        var kindName = "veth"
        switch spec.kind {
        case .veth(let peer):
            builder.nested(K.IFLA_LINKINFO) {
                builder.put(K.IFLA_INFO_KIND, string: "veth")
                builder.nested(K.IFLA_INFO_DATA) {
                    builder.nested(K.VETH_INFO_PEER) {
                        builder.appendHeader(header())
                        builder.put(K.IFLA_IFNAME, string: peer.name.value)
                        if let mtu = peer.mtu { builder.put(K.IFLA_MTU, uint32: UInt32(mtu)) }
                        if let mac = peer.macAddress { builder.put(K.IFLA_ADDRESS, bytes: mac.bytes) }
                        if let namespace = peer.namespace { builder.put(K.IFLA_NET_NS_FD, uint32: UInt32(namespace.descriptor)) }
                    }
                }
            }
        case .bridge(let options):
            kindName = "bridge"
            builder.nested(K.IFLA_LINKINFO) {
                builder.put(K.IFLA_INFO_KIND, string: "bridge")
                // Off is the kernel default; the attribute is sent only to turn filtering on,
                // because kernels built without VLAN filtering refuse it even when it is 0.
                if options.vlanFiltering {
                    builder.nested(K.IFLA_INFO_DATA) { builder.put(K.IFLA_BR_VLAN_FILTERING, uint8: 1) }
                }
            }
        case .vxlan(let options):
            kindName = "vxlan"
            var underlay = options.underlayIndex
            if let device = options.underlayDevice { underlay = try resolve(device) }
            guard options.identifier < 1 << 24 else {
                throw NetlinkError(.invalidArgument, operation: "ip link add \(spec.name) type vxlan id \(options.identifier) (VNI over 24 bits)")
            }
            builder.nested(K.IFLA_LINKINFO) {
                builder.put(K.IFLA_INFO_KIND, string: "vxlan")
                builder.nested(K.IFLA_INFO_DATA) {
                    builder.put(K.IFLA_VXLAN_ID, uint32: options.identifier)
                    switch options.localAddress {
                    case .v4(let address)?: builder.put(K.IFLA_VXLAN_LOCAL, bytes: address.bytes)
                    case .v6(let address)?: builder.put(K.IFLA_VXLAN_LOCAL6, bytes: address.bytes)
                    case nil: break
                    }
                    if let underlay { builder.put(K.IFLA_VXLAN_LINK, uint32: UInt32(underlay)) }
                    if let port = options.port { builder.put(K.IFLA_VXLAN_PORT, bigEndian: port) }
                    builder.put(K.IFLA_VXLAN_LEARNING, uint8: options.learning ? 1 : 0)
                    if let ttl = options.timeToLive { builder.put(K.IFLA_VXLAN_TTL, uint8: ttl) }
                    builder.put(K.IFLA_VXLAN_UDP_CSUM, uint8: options.udpChecksum ? 1 : 0)
                    if options.groupPolicy { builder.putFlag(K.IFLA_VXLAN_GBP) }
                }
            }
        case .macvlan(let parent, let mode):
            kindName = "macvlan"
            builder.put(K.IFLA_LINK, uint32: UInt32(try resolve(parent)))
            builder.nested(K.IFLA_LINKINFO) {
                builder.put(K.IFLA_INFO_KIND, string: "macvlan")
                builder.nested(K.IFLA_INFO_DATA) { builder.put(K.IFLA_MACVLAN_MODE, uint32: mode.kernelValue) }
            }
        }
        let name = spec.name
        let kindText = kindName
        return try builder.finish { "ip link add \(name) type \(kindText)" }
    }

    /// RTM_SETLINK addressing the device by name (or by index when `index` is given).
    static func change(
        _ name: InterfaceName, index: Int = 0, flags: UInt32 = 0, change: UInt32 = 0,
        operation: @escaping @Sendable () -> String, _ body: (RouteNetlinkMessageBuilder) -> Void
    ) throws -> NetlinkRequest {
        let builder = RouteNetlinkMessageBuilder(type: K.RTM_SETLINK, flags: 0)
        builder.appendHeader(header(index: index, flags: flags, change: change))
        if index == 0 { builder.put(K.IFLA_IFNAME, string: name.value) }
        body(builder)
        return try builder.finish(operation)
    }

    /// RTM_NEWLINK without NLM_F_CREATE changing bridge-port options (`type bridge_slave`).
    static func bridgePort(_ name: InterfaceName, hairpin: Bool) throws -> NetlinkRequest {
        let builder = RouteNetlinkMessageBuilder(type: K.RTM_NEWLINK, flags: 0)
        builder.appendHeader(header())
        builder.put(K.IFLA_IFNAME, string: name.value)
        builder.nested(K.IFLA_LINKINFO) {
            builder.put(K.IFLA_INFO_SLAVE_KIND, string: "bridge")
            builder.nested(K.IFLA_INFO_SLAVE_DATA) { builder.put(K.IFLA_BRPORT_MODE, uint8: hairpin ? 1 : 0) }
        }
        return try builder.finish { "ip link set \(name) type bridge_slave hairpin \(hairpin ? "on" : "off")" }
    }

    /// RTM_NEWLINK without NLM_F_CREATE setting a bridge port's isolation.
    static func bridgePort(_ name: InterfaceName, isolated: Bool) throws -> NetlinkRequest {
        let builder = RouteNetlinkMessageBuilder(type: K.RTM_NEWLINK, flags: 0)
        builder.appendHeader(header())
        builder.put(K.IFLA_IFNAME, string: name.value)
        builder.nested(K.IFLA_LINKINFO) {
            builder.put(K.IFLA_INFO_SLAVE_KIND, string: "bridge")
            builder.nested(K.IFLA_INFO_SLAVE_DATA) { builder.put(K.IFLA_BRPORT_ISOLATED, uint8: isolated ? 1 : 0) }
        }
        return try builder.finish { "ip link set \(name) type bridge_slave isolated \(isolated ? "on" : "off")" }
    }

    static func delete(_ name: InterfaceName) throws -> NetlinkRequest {
        let builder = RouteNetlinkMessageBuilder(type: K.RTM_DELLINK, flags: 0)
        builder.appendHeader(header())
        builder.put(K.IFLA_IFNAME, string: name.value)
        return try builder.finish { "ip link delete \(name)" }
    }

    static func get(name: InterfaceName?, index: Int = 0) throws -> NetlinkRequest {
        let builder = RouteNetlinkMessageBuilder(type: K.RTM_GETLINK, flags: 0)
        builder.appendHeader(header(index: index))
        if let name { builder.put(K.IFLA_IFNAME, string: name.value) }
        return try builder.finish { "ip link show " + (name?.value ?? "index \(index)") }
    }
}
