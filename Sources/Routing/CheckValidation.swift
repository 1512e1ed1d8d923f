import CNISpec
import Netlink
import NetPrimitives

/// CHECK: compares a namespace with what a `prevResult` says. Each failure is a `CNIError`
/// (999) whose message names the object and the namespace, as a runtime shows it to a user.
public enum CheckValidation {
    /// Validates the pod side: the sandbox interface named `interface` exists in the pod with
    /// the result's MAC address, carries every address the result gives it, and every route
    /// of the result is present (`ip -n POD link/addr/route show`).
    public static func validatePod(_ result: CNIResult, interface: InterfaceName, pod: NetlinkHandle) throws(CNIError) {
        guard let entry = result.interfaces.first(where: { $0.name == interface.value && $0.sandbox != nil }) else {
            throw CNIError(.internal, "prevResult has no interface \(interface) inside a sandbox")
        }
        let link: Link?
        do { link = try pod.linkIfPresent(named: interface) } catch {
            throw CNIError(.internal, "failed to read \(interface) in \(pod.namespace)", details: "\(error)")
        }
        guard let link else { throw CNIError(.internal, "interface \(interface) not found in \(pod.namespace)") }
        if let expected = entry.mac, link.macAddress != expected {
            throw CNIError(.internal, "interface \(interface) has MAC \(link.macAddress.map { "\($0)" } ?? "none"), expected \(expected)")
        }
        let ips = PodAddressing.addresses(of: result, interface: interface)
        let present: Set<IPNetwork>
        do { present = Set(try pod.addresses(device: interface).map(\.network)) } catch {
            throw CNIError(.internal, "failed to read addresses of \(interface)", details: "\(error)")
        }
        for ip in ips where !present.contains(ip.address) {
            throw CNIError(.internal, "address \(ip.address) not found on \(interface) in \(pod.namespace)")
        }
        for route in result.routes {
            let expected = PodAddressing.kernelRoute(for: route, interface: interface, addresses: ips)
            let routes: [Netlink.Route]
            do { routes = try pod.routes(family: expected.destination.family, table: expected.table) } catch {
                throw CNIError(.internal, "failed to read routes in \(pod.namespace)", details: "\(error)")
            }
            let found = routes.contains { candidate in
                candidate.destination == expected.destination
                    && (expected.gateway == nil || candidate.gateway == expected.gateway)
            }
            guard found else {
                throw CNIError(.internal, "route \(route.destination)\(route.gateway.map { " via \($0)" } ?? "") not found in \(pod.namespace)")
            }
        }
    }

    /// Validates the host side: the host end exists, is up and, when `bridge` is given, is a
    /// port of that bridge (`ip link show HOST` shows `master BRIDGE`).
    public static func validateHost(hostInterface: InterfaceName, bridge: InterfaceName?, host: NetlinkHandle) throws(CNIError) {
        do {
            guard let link = try host.linkIfPresent(named: hostInterface) else {
                throw CNIError(.internal, "host interface \(hostInterface) not found")
            }
            guard link.isUp else { throw CNIError(.internal, "host interface \(hostInterface) is down") }
            if let bridge {
                guard let bridgeLink = try host.linkIfPresent(named: bridge) else {
                    throw CNIError(.internal, "bridge \(bridge) not found")
                }
                guard link.masterIndex == bridgeLink.index else {
                    throw CNIError(.internal, "host interface \(hostInterface) is not a port of \(bridge)")
                }
            }
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.internal, "failed to read \(hostInterface)", details: "\(error)")
        }
    }
}
