import CNISpec
import Netlink
import NetPrimitives

/// The routed attachment with the IPAM gateways (``PodRoutedAttachment/Gateway/ipam(gateways:)``),
/// the data path of the reference `ptp` plugin.
///
/// ```swift
/// let allocation = try await IPAMSource(request: request).add()       // 10.1.1.5/24 gw 10.1.1.1
/// let routed = PodRoutedAttachment(veth: veth, ips: allocation.ips, routes: allocation.routes,
///                                  hostRouteProtocol: .boot)
/// let links = try routed.create(host: nodeHandle, pod: podHandle)     // ADD
/// try routed.validate(host: nodeHandle, pod: podHandle)               // CHECK
/// ```
extension PodRoutedAttachment {
    /// A ptp-style attachment: the pod gets `ips` (each with its prefix; its gateway goes on
    /// the host end) and `routes`. An address without a gateway gets its subnet's first host.
    public init(
        veth: PodAttachment, ips: [CNIResult.IPConfiguration], routes: [CNIRoute], hostRouteProtocol: Netlink.Route.ProtocolTag
    ) {
        self.init(veth: veth, addresses: ips.map(\.address), hostRouteProtocol: hostRouteProtocol)
        gatewayMode = .ipam(gateways: ips.map { $0.gateway ?? $0.address.network.address(at: 1) ?? $0.address.address })
        podRoutes = routes
    }

    func pointToPointResult(links: PodAttachment.Links, sandbox: String, version: CNIVersion) -> CNIResult {
        guard case .ipam(let gateways) = gatewayMode else { return result(links: links, sandbox: sandbox, version: version) }
        return CNIResult(
            cniVersion: version,
            interfaces: [
                CNIResult.Interface(name: links.host.name, mac: links.host.macAddress),
                CNIResult.Interface(name: links.container.name, mac: links.container.macAddress, sandbox: sandbox),
            ],
            ips: zip(addresses, gateways).map { CNIResult.IPConfiguration(address: $0, gateway: $1, interface: 1) },
            routes: podRoutes)
    }

    /// The pod's kernel routes: per address the gateway on the link and the subnet through
    /// it, then ``podRoutes`` via the gateway of their family.
    func pointToPointPodRoutes(gateways: [IPAddress]) -> [Netlink.Route] {
        let device = veth.containerInterface
        var routes: [Netlink.Route] = []
        for (address, gateway) in zip(addresses, gateways) {
            routes.append(Netlink.Route(destination: IPNetwork(host: gateway), device: device, scope: .link, source: address.address))
            if address.prefixLength < address.address.family.bitWidth {
                routes.append(Netlink.Route(destination: address.network, gateway: gateway, device: device, source: address.address))
            }
        }
        let ips = zip(addresses, gateways).map { CNIResult.IPConfiguration(address: $0, gateway: $1) }
        for route in podRoutes {
            routes.append(PodAddressing.kernelRoute(for: route, interface: device, addresses: ips))
        }
        return routes
    }

    /// Creates the pair (MTU in the creation request), turns forwarding on in the node
    /// (`sysctl net.ipv4.ip_forward=1`, `net.ipv6.conf.all.forwarding=1` for IPv6 addresses, as
    /// ptp does), configures the pod (`ip addr add A/P dev eth0 noprefixroute`, then the routes
    /// of ``pointToPointPodRoutes(gateways:)``) and the host end (`ip addr add GW/32 dev HOST`,
    /// `ip route replace A/32 dev HOST scope link proto P`). Everything is deleted on failure.
    func createPointToPoint(gateways: [IPAddress], host: NetlinkHandle, pod: NetlinkHandle) throws(CNIError) -> PodAttachment.Links {
        guard gateways.count == addresses.count, !addresses.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "a routed attachment needs at least one address, each with a gateway")
        }
        let links = try veth.create(host: host, pod: pod)
        let device = veth.containerInterface
        do {
            if addresses.contains(where: { $0.family == .v4 }) { try host.setSysctl("net.ipv4.ip_forward", to: "1") }
            if addresses.contains(where: { $0.family == .v6 }) { try host.setSysctl("net.ipv6.conf.all.forwarding", to: "1") }
            for address in addresses {
                let flags: Address.Flags = address.family == .v6 ? [.noPrefixRoute, .noDuplicateAddressDetection] : [.noPrefixRoute]
                try pod.addAddress(Address(address, flags: flags), device: device)
            }
            for route in pointToPointPodRoutes(gateways: gateways) { try pod.replaceRoute(route) }
            for (address, gateway) in zip(addresses, gateways) {
                let flags: Address.Flags = gateway.family == .v6 ? [.noDuplicateAddressDetection] : []
                do { try host.addAddress(Address(IPNetwork(host: gateway), flags: flags), device: veth.hostInterface) } catch let error as NetlinkError
                    where error.isAlreadyExists {}
                try host.replaceRoute(
                    Netlink.Route(
                        destination: IPNetwork(host: address.address), device: veth.hostInterface, protocolTag: hostRouteProtocol,
                        scope: .link))
            }
            return links
        } catch {
            _ = try? veth.remove(host: host)
            throw CNIError(.internal, "failed to set up the routed attachment \(veth.hostInterface)", details: "\(error)")
        }
    }

    /// CHECK of the ptp-style attachment: the host end exists, is up and carries every gateway
    /// with a host route per pod address (`proto P`); the pod end carries every address with its
    /// prefix and every route of `pointToPointPodRoutes(gateways:)`.
    public func validatePointToPoint(gateways: [IPAddress], host: NetlinkHandle, pod: NetlinkHandle) throws(CNIError) {
        try CheckValidation.validateHost(hostInterface: veth.hostInterface, bridge: nil, host: host)
        let device = veth.containerInterface
        do {
            guard try pod.linkIfPresent(named: device) != nil else {
                throw CNIError(.internal, "interface \(device) not found in \(pod.namespace)")
            }
            let present = Set(try pod.addresses(device: device).map(\.network))
            for address in addresses where !present.contains(address) {
                throw CNIError(.internal, "address \(address) not found on \(device) in \(pod.namespace)")
            }
            let hostAddresses = Set(try host.addresses(device: veth.hostInterface).map(\.network.address))
            for gateway in gateways where !hostAddresses.contains(gateway) {
                throw CNIError(.internal, "gateway \(gateway) not found on \(veth.hostInterface) in \(host.namespace)")
            }
            let hostRoutes = try host.routes(protocolTag: hostRouteProtocol)
            for address in addresses where !hostRoutes.contains(where: {
                $0.destination == IPNetwork(host: address.address) && $0.nextHops.first?.device == veth.hostInterface
            }) {
                throw CNIError(.internal, "host route \(address.address) dev \(veth.hostInterface) not found in \(host.namespace)")
            }
            for expected in pointToPointPodRoutes(gateways: gateways) {
                let routes = try pod.routes(family: expected.destination.family, table: expected.table)
                guard routes.contains(where: { $0.destination == expected.destination && (expected.gateway == nil || $0.gateway == expected.gateway) })
                else {
                    throw CNIError(
                        .internal, "route \(expected.destination)\(expected.gateway.map { " via \($0)" } ?? "") not found in \(pod.namespace)")
                }
            }
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.internal, "failed to read the routed attachment \(veth.hostInterface)/\(device)", details: "\(error)")
        }
    }
}
