#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import NetPrimitives

extension NetlinkHandle {
    /// Every device of the namespace (`ip -d link show`).
    public func links() throws -> [Link] {
        try dump(LinkRequest.get(name: nil)).compactMap(Link.init(reply:))
    }

    /// The device named `name` (`ip -d link show NAME`); throws ``NetlinkError/Code/notFound``.
    public func link(named name: InterfaceName) throws -> Link {
        try fetchLink(LinkRequest.get(name: name), what: name.value)
    }

    /// The device with interface index `index` (`ip link show` by ifindex).
    public func link(index: Int) throws -> Link {
        try fetchLink(LinkRequest.get(name: nil, index: index), what: "index \(index)")
    }

    /// The device named `name`, or nil when there is none (`ip link show NAME` without the error).
    public func linkIfPresent(named name: InterfaceName) throws -> Link? {
        do { return try link(named: name) } catch let error as NetlinkError where error.code == .notFound { return nil }
    }

    private func fetchLink(_ request: NetlinkRequest, what: String) throws -> Link {
        do {
            let replies = try withSocket { try $0.perform(request) }
            guard let link = replies.lazy.compactMap(Link.init(reply:)).first else {
                throw NetlinkError(.malformedReply, operation: request.operation())
            }
            return link
        } catch let error as NetlinkError where error.errno == ENODEV {
            throw NetlinkError(.notFound, operation: request.operation(), errno: ENODEV, kernelMessage: error.kernelMessage)
        }
    }

    /// The interface index of `name` in this handle's namespace (an ioctl on the socket; the
    /// link request only when that fails, for its error).
    func index(of name: InterfaceName) throws -> Int {
        if let index = try withSocket({ $0.interfaceIndex(of: name.value) }) { return index }
        return try link(named: name).index
    }

    /// Creates a device, exclusively: an existing device of the same name is an error
    /// (EEXIST), never modified (`ip link add NAME type veth|bridge|vxlan|macvlan ...`).
    public func addLink(_ specification: LinkSpecification) throws {
        try perform(LinkRequest.create(specification) { try index(of: $0) })
    }

    /// Deletes a device (`ip link delete NAME`); deleting one end of a veth removes both.
    public func deleteLink(named name: InterfaceName) throws {
        try perform(LinkRequest.delete(name))
    }

    /// `ip link set NAME up`.
    public func setLinkUp(_ name: InterfaceName) throws {
        let up = UInt32(RouteNetlinkConstant.IFF_UP)
        try perform(LinkRequest.change(name, flags: up, change: up, operation: { "ip link set \(name) up" }) { _ in })
    }

    /// `ip link set NAME down`.
    public func setLinkDown(_ name: InterfaceName) throws {
        let up = UInt32(RouteNetlinkConstant.IFF_UP)
        try perform(LinkRequest.change(name, flags: 0, change: up, operation: { "ip link set \(name) down" }) { _ in })
    }

    /// `ip link set NAME mtu MTU`.
    public func setMTU(_ mtu: Int, of name: InterfaceName) throws {
        try perform(LinkRequest.change(name, operation: { "ip link set \(name) mtu \(mtu)" }) {
            $0.put(RouteNetlinkConstant.IFLA_MTU, uint32: UInt32(mtu))
        })
    }

    /// `ip link set NAME address MAC`.
    public func setMACAddress(_ address: MACAddress, of name: InterfaceName) throws {
        try perform(LinkRequest.change(name, operation: { "ip link set \(name) address \(address)" }) {
            $0.put(RouteNetlinkConstant.IFLA_ADDRESS, bytes: address.bytes)
        })
    }

    /// `ip link set NAME name NEWNAME` (the device must be down for most kinds).
    public func renameLink(_ name: InterfaceName, to newName: InterfaceName) throws {
        let index = try index(of: name)
        try perform(LinkRequest.change(name, index: index, operation: { "ip link set \(name) name \(newName)" }) {
            $0.put(RouteNetlinkConstant.IFLA_IFNAME, string: newName.value)
        })
    }

    /// Makes `name` a port of the bridge `master` (`ip link set NAME master BRIDGE`).
    public func setMaster(_ master: InterfaceName, of name: InterfaceName) throws {
        let masterIndex = try index(of: master)
        try perform(LinkRequest.change(name, operation: { "ip link set \(name) master \(master)" }) {
            $0.put(RouteNetlinkConstant.IFLA_MASTER, uint32: UInt32(masterIndex))
        })
    }

    /// Removes `name` from its bridge (`ip link set NAME nomaster`).
    public func removeMaster(of name: InterfaceName) throws {
        try perform(LinkRequest.change(name, operation: { "ip link set \(name) nomaster" }) {
            $0.put(RouteNetlinkConstant.IFLA_MASTER, uint32: 0)
        })
    }

    /// Moves a device into another namespace by the namespace's descriptor
    /// (`ip link set NAME netns NS`), optionally renaming it on the way
    /// (`ip link set NAME netns NS name NEWNAME`).
    public func moveLink(_ name: InterfaceName, to target: NetworkNamespace, newName: InterfaceName? = nil) throws {
        let index = newName == nil ? 0 : try index(of: name)
        let operation: @Sendable () -> String = { "ip link set \(name) netns \(target)" + (newName.map { " name \($0)" } ?? "") }
        try perform(LinkRequest.change(name, index: index, operation: operation) {
            $0.put(RouteNetlinkConstant.IFLA_NET_NS_FD, uint32: UInt32(target.descriptor))
            if let newName { $0.put(RouteNetlinkConstant.IFLA_IFNAME, string: newName.value) }
        })
    }

    /// Sets hairpin mode on a bridge port, so frames may leave by the port they came in on
    /// (`bridge link set dev NAME hairpin on`, or `ip link set NAME type bridge_slave hairpin on`).
    public func setHairpin(_ enabled: Bool, port name: InterfaceName) throws {
        try perform(LinkRequest.bridgePort(name, hairpin: enabled))
    }

    /// Isolates a bridge port: frames it brings in never leave by another isolated port, and
    /// frames from another isolated port never leave by it (`bridge link set dev NAME isolated
    /// on`). Overlay ports of one bridge use it as split horizon.
    public func setIsolated(_ isolated: Bool, port name: InterfaceName) throws {
        try perform(LinkRequest.bridgePort(name, isolated: isolated))
    }
}
