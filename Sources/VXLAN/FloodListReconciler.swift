import Netlink
import NetPrimitives

/// The flood list of a learning VXLAN device (``BridgedVXLANPort``): one all-zeros forwarding
/// entry per remote VTEP (`bridge fdb append 00:00:00:00:00:00 dev DEV dst IP self permanent`).
/// The kernel sends each broadcast, multicast and unknown-unicast frame once to every entry
/// (head-end replication) and learns the remote MACs from the frames it receives, so unicast
/// then goes straight to the VTEP that owns the MAC. When a remote leaves, its flood entry goes
/// and so do the entries the kernel learned pointing at it (otherwise they would black-hole
/// traffic until they age out).
public struct FloodListReconciler: Hashable, Sendable {
    public var device: InterfaceName

    public init(device: InterfaceName) { self.device = device }

    /// The changes that make the flood list exactly `remotes` (pure).
    public func plan(remotes: Set<IPAddress>, current: [Neighbor]) -> FloodListPlan {
        var plan = FloodListPlan()
        var present = Set<IPAddress>()
        for entry in current {
            guard let destination = entry.address else { continue }
            if entry.macAddress == .zero {
                if remotes.contains(destination), entry.state.contains(.permanent) {
                    present.insert(destination)
                } else {
                    plan.deletions.append(.forwardingEntry(.zero, destination: destination))
                }
            } else if !remotes.contains(destination), !entry.state.contains(.permanent), let mac = entry.macAddress {
                plan.staleLearned.append(.forwardingEntry(mac, destination: destination))
            }
        }
        plan.additions = remotes.subtracting(present).sorted()
        return plan
    }

    /// The device's forwarding entries that name a remote VTEP (`bridge fdb show dev DEV`).
    public func currentEntries(handle: NetlinkHandle) throws(VXLANError) -> [Neighbor] {
        do {
            return try handle.forwardingEntries(device: device).filter { $0.address != nil }
        } catch let error as NetlinkError {
            throw VXLANError(.kernelRefused, "reading the forwarding entries of \(device)", underlying: error)
        } catch {
            throw VXLANError(.kernelRefused, "reading the forwarding entries of \(device): \(error)")
        }
    }

    /// Reads, plans and applies; returns the plan. Running it again with the same remotes
    /// plans nothing.
    @discardableResult
    public func reconcile(remotes: Set<IPAddress>, handle: NetlinkHandle) throws(VXLANError) -> FloodListPlan {
        let plan = self.plan(remotes: remotes, current: try currentEntries(handle: handle))
        do {
            for entry in plan.deletions + plan.staleLearned { _ = try handle.deleteNeighborIfPresent(entry, device: device) }
            for remote in plan.additions { try handle.appendForwardingEntry(.forwardingEntry(.zero, destination: remote), device: device) }
        } catch let error as NetlinkError {
            throw VXLANError(.kernelRefused, "applying \(plan) to \(device)", underlying: error)
        } catch {
            throw VXLANError(.kernelRefused, "applying \(plan) to \(device): \(error)")
        }
        return plan
    }
}

/// What ``FloodListReconciler/plan(remotes:current:)`` changes.
public struct FloodListPlan: Hashable, Sendable, CustomStringConvertible {
    /// Remote VTEPs that get a flood entry.
    public var additions: [IPAddress] = []
    /// Flood entries of VTEPs that are no longer remotes.
    public var deletions: [Neighbor] = []
    /// Learned entries pointing at VTEPs that are no longer remotes.
    public var staleLearned: [Neighbor] = []

    public init() {}

    public var isEmpty: Bool { additions.isEmpty && deletions.isEmpty && staleLearned.isEmpty }

    public var description: String {
        "flood +\(additions.map(\.description)) -\(deletions.compactMap(\.address).map(\.description)), stale learned -\(staleLearned.count)"
    }
}
