import NetPrimitives

extension NetlinkHandle {
    /// The addresses of the namespace, optionally of one family and one device
    /// (`ip [-4|-6] addr show [dev NAME]`).
    public func addresses(family: IPAddress.Family? = nil, device: InterfaceName? = nil) throws -> [Address] {
        var index: Int?
        if let device { index = try self.index(of: device) }
        let builder = RouteNetlinkMessageBuilder(type: RouteNetlinkConstant.RTM_GETADDR, flags: 0)
        builder.appendHeader([AddressRequest.family(family), 0, 0, 0, 0, 0, 0, 0])
        let request = try builder.finish { "ip addr show" }
        return try dump(request).compactMap(Address.init(reply:)).filter { address in
            (index == nil || address.linkIndex == index) && (family == nil || address.network.family == family)
        }
    }

    /// Adds an address, failing with EEXIST when it is already there
    /// (`ip addr add 10.0.0.1/24 [peer P] [scope S] [noprefixroute] dev NAME`).
    public func addAddress(_ address: Address, device: InterfaceName) throws {
        let index = try index(of: device)
        try perform(AddressRequest.build(
            type: RouteNetlinkConstant.RTM_NEWADDR,
            flags: RouteNetlinkConstant.NLM_F_CREATE | RouteNetlinkConstant.NLM_F_EXCL,
            address, index: index, verb: "add"))
    }

    /// Adds or updates an address (`ip addr replace ... dev NAME`).
    public func replaceAddress(_ address: Address, device: InterfaceName) throws {
        let index = try index(of: device)
        try perform(AddressRequest.build(
            type: RouteNetlinkConstant.RTM_NEWADDR,
            flags: RouteNetlinkConstant.NLM_F_CREATE | RouteNetlinkConstant.NLM_F_REPLACE,
            address, index: index, verb: "replace"))
    }

    /// Removes an address (`ip addr del 10.0.0.1/24 dev NAME`).
    public func deleteAddress(_ address: Address, device: InterfaceName) throws {
        let index = try index(of: device)
        try perform(AddressRequest.build(type: RouteNetlinkConstant.RTM_DELADDR, flags: 0, address, index: index, verb: "del"))
    }
}
