import Netlink
import NetPrimitives
import Routing

/// Keeps, for each remote node, exactly one permanent neighbour entry (its VTEP address →
/// its VTEP MAC), one FDB entry (that MAC → its underlay address) and one onlink route (its
/// subnet via its VTEP address on the VTEP), and removes them when the node leaves. With
/// ``directRouting``, a peer on the same underlay subnet gets a plain route via its underlay
/// address instead (no encapsulation). Routes carry `Route.ProtocolTag.flannelOverlay`;
/// routes of other owners are never touched.
///
/// ```swift
/// let overlay = OverlayReconciler(device: "flannel.1", localSubnet: "10.244.1.0/24")
/// try overlay.reconcile(peers: peers, handle: handle)   // idempotent
/// ```
public struct OverlayReconciler: Hashable, Sendable {
    /// The VTEP (`flannel.1`).
    public var device: InterfaceName
    /// This node's subnet: never routed through a peer.
    public var localSubnet: IPNetwork?
    /// Route peers on ``underlayNetwork`` directly (flannel's `DirectRouting`).
    public var directRouting: Bool
    /// The underlay device and the network of its address, for direct routes.
    public var underlayDevice: InterfaceName?
    public var underlayNetwork: IPNetwork?
    public var routes: RouteReconciler
    /// The family the overlay carries: its peers' subnets, underlay addresses, neighbour
    /// entries and routes are of this family; others are ignored (flannel runs one reconciler
    /// per VTEP: `flannel.1` for IPv4, `flannel-v6.1` for IPv6).
    public var family: IPAddress.Family

    public init(device: InterfaceName, localSubnet: IPNetwork? = nil, directRouting: Bool = false,
                underlayDevice: InterfaceName? = nil, underlayNetwork: IPNetwork? = nil,
                routes: RouteReconciler = RouteReconciler(protocolTag: .flannelOverlay), family: IPAddress.Family = .v4) {
        self.family = family
        self.device = device
        self.localSubnet = localSubnet
        self.directRouting = directRouting
        self.underlayDevice = underlayDevice
        self.underlayNetwork = underlayNetwork
        self.routes = routes
    }

    /// Whether `peer` is reached by a direct route rather than through the tunnel.
    public func routesDirectly(_ peer: OverlayPeer) -> Bool {
        guard directRouting, peer.mayRouteDirectly, underlayDevice != nil, let underlayNetwork else { return false }
        return underlayNetwork.contains(peer.underlayAddress)
    }

    /// The peers that count: not this node's subnet, of ``family``, first of duplicate subnets.
    func effectivePeers(_ peers: [OverlayPeer]) -> [OverlayPeer] {
        var seen = Set<IPNetwork>()
        return peers.filter { peer in
            peer.subnet.network != localSubnet?.network && peer.subnet.family == family
                && peer.underlayAddress.family == family && seen.insert(peer.subnet.network).inserted
        }
    }

    /// The routes the overlay wants for `peers`.
    public func desiredRoutes(for peers: [OverlayPeer]) -> [Route] {
        effectivePeers(peers).map { peer in
            if routesDirectly(peer) {
                return routes.owned(Route(destination: peer.subnet.network, gateway: peer.underlayAddress, device: underlayDevice))
            }
            return routes.owned(Route(destination: peer.subnet.network, gateway: peer.vtepAddress, device: device, isOnLink: true))
        }
    }

    /// The changes that turn `current` into the state `peers` require (pure).
    public func plan(peers: [OverlayPeer], current: OverlayState) -> OverlayPlan {
        let tunnelled = effectivePeers(peers).filter { !routesDirectly($0) }
        var plan = OverlayPlan(routes: routes.plan(desired: desiredRoutes(for: peers), current: current.routes))

        var wantedNeighbors: [IPAddress: MACAddress] = [:]
        for peer in tunnelled { wantedNeighbors[peer.vtepAddress] = peer.vtepMACAddress }
        var satisfied = Set<IPAddress>()
        let neighborFamily: Neighbor.Family = family == .v6 ? .ipv6 : .ipv4
        for neighbor in current.neighbors where neighbor.family == neighborFamily && !neighbor.flags.contains(.proxy) {
            guard let address = neighbor.address else { continue }
            if let mac = wantedNeighbors[address], neighbor.macAddress == mac, neighbor.state.contains(.permanent) {
                satisfied.insert(address)
            } else if wantedNeighbors[address] == nil, neighbor.state.contains(.permanent) {
                plan.neighborDeletions.append(Neighbor.permanent(address, macAddress: neighbor.macAddress ?? .zero))
            }
        }
        for peer in tunnelled where !satisfied.contains(peer.vtepAddress) {
            plan.neighborUpdates.append(.permanent(peer.vtepAddress, macAddress: peer.vtepMACAddress))
        }

        var wantedEntries: [MACAddress: IPAddress] = [:]
        for peer in tunnelled { wantedEntries[peer.vtepMACAddress] = peer.underlayAddress }
        var present = Set<MACAddress>()
        for entry in current.forwardingEntries {
            guard let mac = entry.macAddress, let destination = entry.address else { continue }
            if wantedEntries[mac] == destination, !present.contains(mac) {
                present.insert(mac)
            } else {
                plan.forwardingDeletions.append(.forwardingEntry(mac, destination: destination))
            }
        }
        for peer in tunnelled where !present.contains(peer.vtepMACAddress) {
            if wantedEntries[peer.vtepMACAddress] == peer.underlayAddress {
                plan.forwardingUpdates.append(.forwardingEntry(peer.vtepMACAddress, destination: peer.underlayAddress))
                present.insert(peer.vtepMACAddress)
            }
        }
        return plan
    }

    /// Reads the overlay's current state from the kernel.
    public func currentState(handle: NetlinkHandle) throws(VXLANError) -> OverlayState {
        do {
            let owned = try handle.routes(family: family, table: routes.table, protocolTag: routes.protocolTag)
            guard try handle.linkIfPresent(named: device) != nil else { return OverlayState(routes: owned) }
            return OverlayState(
                routes: owned, neighbors: try handle.neighbors(family: family == .v6 ? .ipv6 : .ipv4, device: device),
                forwardingEntries: try handle.forwardingEntries(device: device))
        } catch let error as NetlinkError {
            throw VXLANError(.kernelRefused, "reading the overlay state of \(device)", underlying: error)
        } catch {
            throw VXLANError(.kernelRefused, "reading the overlay state of \(device): \(error)")
        }
    }

    /// Reads, plans and applies in one batch; returns the plan and the refused requests.
    /// Running it again with the same peers plans nothing.
    @discardableResult
    public func reconcile(peers: [OverlayPeer], handle: NetlinkHandle) throws(VXLANError) -> OverlayReconciliation {
        let plan = self.plan(peers: peers, current: try currentState(handle: handle))
        if plan.isEmpty { return OverlayReconciliation(plan: plan, failures: []) }
        do {
            return OverlayReconciliation(plan: plan, failures: try handle.apply(plan.batch(device: device)))
        } catch let error as NetlinkError {
            throw VXLANError(.kernelRefused, "applying \(plan)", underlying: error)
        } catch {
            throw VXLANError(.kernelRefused, "applying \(plan): \(error)")
        }
    }
}

/// What ``OverlayReconciler/reconcile(peers:handle:)`` did.
public struct OverlayReconciliation: Sendable {
    public var plan: OverlayPlan
    /// Requests of ``OverlayPlan/batch(device:)`` the kernel refused.
    public var failures: [NetlinkBatchFailure]
    public var succeeded: Bool { failures.isEmpty }
}
