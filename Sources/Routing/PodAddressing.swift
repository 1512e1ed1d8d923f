import CNISpec
import Netlink
import NetPrimitives

/// Applies a CNI result's addresses and routes inside a pod.
public enum PodAddressing {
    /// Adds the result's `ips` that belong to `interface` (`interface` index pointing at the
    /// sandbox entry with that name, or no index) and then its routes, through `pod` (a handle
    /// for the pod namespace): `ip addr add A dev IFNAME`, `ip route add DST via GW dev IFNAME`.
    /// A route without `gw` goes via the gateway of the first address of its family, or
    /// straight out of the device when there is none. Already present entries are accepted,
    /// so applying twice is harmless.
    public static func apply(_ result: CNIResult, interface: InterfaceName, pod: NetlinkHandle) throws(CNIError) {
        let ips = addresses(of: result, interface: interface)
        for ip in ips {
            do {
                // IPv6 without duplicate address detection: the address is usable at once (the
                // node's IPAM made it unique), as Calico and the routed attachment have it.
                try pod.addAddress(
                    Address(ip.address, flags: ip.address.family == .v6 ? .noDuplicateAddressDetection : []), device: interface)
            } catch let error as NetlinkError where error.isAlreadyExists {
            } catch {
                throw CNIError(.internal, "failed to add \(ip.address) to \(interface)", details: "\(error)")
            }
        }
        for route in result.routes {
            let kernelRoute = kernelRoute(for: route, interface: interface, addresses: ips)
            do {
                try pod.addRoute(kernelRoute)
            } catch let error as NetlinkError where error.isAlreadyExists {
            } catch {
                throw CNIError(.internal, "failed to add route \(kernelRoute)", details: "\(error)")
            }
        }
    }

    /// The `ips` entries of `result` that belong to `interface`.
    public static func addresses(of result: CNIResult, interface: InterfaceName) -> [CNIResult.IPConfiguration] {
        let indexes = Set(result.interfaces.indices.filter {
            result.interfaces[$0].name == interface.value && result.interfaces[$0].sandbox != nil
        })
        return result.ips.filter { ip in ip.interface.map { indexes.contains($0) } ?? true }
    }

    /// The kernel route a result route becomes inside the pod.
    public static func kernelRoute(
        for route: CNIRoute, interface: InterfaceName, addresses: [CNIResult.IPConfiguration]
    ) -> Netlink.Route {
        let destination = route.destination.network
        let gateway = route.gateway ?? addresses.first { $0.address.family == destination.family }?.gateway
        return Netlink.Route(
            destination: destination, gateway: gateway, device: interface,
            table: route.table.map { Netlink.Route.Table(rawValue: UInt32($0)) } ?? .main,
            scope: route.scope.map { Scope(rawValue: UInt8(clamping: $0)) }, metric: route.priority,
            mtu: route.mtu, advertisedMSS: route.advertisedMSS)
    }
}
