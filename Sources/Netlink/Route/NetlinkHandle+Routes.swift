import NetPrimitives

extension NetlinkHandle {
    /// The routes of the namespace, filtered by family, table and protocol tag
    /// (`ip [-4|-6] route show table TABLE proto TAG`; `table: nil` is `table all`).
    /// Next hops carry both the device index and its name.
    public func routes(
        family: IPAddress.Family? = nil, table: Route.Table? = .main, protocolTag: Route.ProtocolTag? = nil
    ) throws -> [Route] {
        let builder = RouteNetlinkMessageBuilder(type: RouteNetlinkConstant.RTM_GETROUTE, flags: 0)
        builder.appendHeader([AddressRequest.family(family)] + [UInt8](repeating: 0, count: 11))
        let request = try builder.finish { "ip route show table \(table?.description ?? "all")" }
        let replies = try dump(request)
        var routes = replies.compactMap(Route.init(reply:)).filter { route in
            (family == nil || route.destination.family == family)
                && (table == nil || route.table == table)
                && (protocolTag == nil || route.protocolTag == protocolTag)
        }
        if routes.contains(where: { $0.nextHops.contains { $0.deviceIndex != nil } }) {
            var names: [Int: InterfaceName] = [:]
            for link in try links() { names[link.index] = try? InterfaceName(link.name) }
            for routeIndex in routes.indices {
                for hopIndex in routes[routeIndex].nextHops.indices {
                    if let index = routes[routeIndex].nextHops[hopIndex].deviceIndex {
                        routes[routeIndex].nextHops[hopIndex].device = names[index]
                    }
                }
            }
        }
        return routes
    }

    /// Adds a route exclusively: an existing route with the same key is an error (EEXIST)
    /// (`ip route add ...`). A kernel refusal carries its reason, e.g.
    /// "Nexthop has invalid gateway".
    public func addRoute(_ route: Route) throws {
        try perform(RouteRequest.build(route, verb: .add) { try index(of: $0) })
    }

    /// Adds or replaces a route (`ip route replace ...`).
    public func replaceRoute(_ route: Route) throws {
        try perform(RouteRequest.build(route, verb: .replace) { try index(of: $0) })
    }

    /// Deletes a route (`ip route del ...`): destination, table, type and protocol tag must
    /// match, as must metric and next hops when given.
    public func deleteRoute(_ route: Route) throws {
        try perform(RouteRequest.build(route, verb: .delete) { try index(of: $0) })
    }
}
