import NetPrimitives

/// Deletions that tolerate a missing object, for CNI DEL paths that must be idempotent.
extension NetlinkHandle {
    /// `ip link delete NAME`, where a missing device is not an error. Returns whether a
    /// device was deleted.
    @discardableResult
    public func deleteLinkIfPresent(named name: InterfaceName) throws -> Bool {
        try ignoringNotFound { try deleteLink(named: name) }
    }

    /// `ip route del ...`, where a missing route is not an error.
    @discardableResult
    public func deleteRouteIfPresent(_ route: Route) throws -> Bool {
        try ignoringNotFound { try deleteRoute(route) }
    }

    /// `ip addr del ... dev NAME`, where a missing address or device is not an error.
    @discardableResult
    public func deleteAddressIfPresent(_ address: Address, device: InterfaceName) throws -> Bool {
        try ignoringNotFound { try deleteAddress(address, device: device) }
    }

    /// `ip neigh del ...` / `bridge fdb del ...`, where a missing entry or device is not an error.
    @discardableResult
    public func deleteNeighborIfPresent(_ neighbor: Neighbor, device: InterfaceName) throws -> Bool {
        try ignoringNotFound { try deleteNeighbor(neighbor, device: device) }
    }

    private func ignoringNotFound(_ body: () throws -> Void) throws -> Bool {
        do {
            try body()
            return true
        } catch let error as NetlinkError where error.isNotFound {
            return false
        }
    }
}
