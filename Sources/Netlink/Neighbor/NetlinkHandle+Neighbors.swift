import NetPrimitives

extension NetlinkHandle {
    /// Neighbour entries: ARP/NDP (`ip neigh show [dev NAME]`), proxy entries
    /// (`ip neigh show proxy`, with `proxies: true`) or, for `.bridge`, the forwarding
    /// database (`bridge fdb show [dev NAME]`).
    public func neighbors(family: Neighbor.Family? = nil, device: InterfaceName? = nil, proxies: Bool = false) throws -> [Neighbor] {
        var index: Int?
        if let device { index = try self.index(of: device) }
        let builder = RouteNetlinkMessageBuilder(type: RouteNetlinkConstant.RTM_GETNEIGH, flags: 0)
        builder.appendHeader(NeighborRequest.header(
            family: family, index: 0, state: 0, flags: proxies ? UInt8(RouteNetlinkConstant.NTF_PROXY) : 0))
        let request = try builder.finish { family == .bridge ? "bridge fdb show" : "ip neigh show" + (proxies ? " proxy" : "") }
        return try dump(request).compactMap(Neighbor.init(reply:)).filter { neighbor in
            (index == nil || neighbor.linkIndex == index) && (family == nil || neighbor.family == family)
        }
    }

    /// The forwarding database (`bridge fdb show [dev NAME]`).
    public func forwardingEntries(device: InterfaceName? = nil) throws -> [Neighbor] {
        try neighbors(family: .bridge, device: device)
    }

    /// Adds an entry, failing with EEXIST when one exists
    /// (`ip neigh add ADDRESS lladdr MAC nud permanent dev NAME`, `ip neigh add proxy ADDRESS dev NAME`,
    /// `bridge fdb add MAC dev NAME dst IP self permanent`).
    public func addNeighbor(_ neighbor: Neighbor, device: InterfaceName) throws {
        try perform(NeighborRequest.build(neighbor, index: try index(of: device), verb: .add))
    }

    /// Adds or updates an entry (`ip neigh replace ...`, `bridge fdb replace ...`), as
    /// flannel sets its per-node ARP and FDB entries.
    public func replaceNeighbor(_ neighbor: Neighbor, device: InterfaceName) throws {
        try perform(NeighborRequest.build(neighbor, index: try index(of: device), verb: .replace))
    }

    /// Appends a forwarding entry, allowing several destinations for one MAC
    /// (`bridge fdb append MAC dev NAME dst IP self permanent`).
    public func appendForwardingEntry(_ entry: Neighbor, device: InterfaceName) throws {
        try perform(NeighborRequest.build(entry, index: try index(of: device), verb: .append))
    }

    /// Deletes an entry (`ip neigh del ADDRESS dev NAME`, `bridge fdb del MAC dev NAME dst IP self`).
    public func deleteNeighbor(_ neighbor: Neighbor, device: InterfaceName) throws {
        try perform(NeighborRequest.build(neighbor, index: try index(of: device), verb: .delete))
    }
}
