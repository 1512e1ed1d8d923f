import CNISpec
import Netlink
import NetPrimitives

/// The node's pod bridge (`cni0`): what ``BridgeAttachment/ensure(_:host:)`` converges to.
public struct BridgeConfiguration: Sendable, Hashable {
    /// The bridge device (`cni0`).
    public var name: InterfaceName
    /// Set at creation (`ip link add NAME mtu M type bridge`); an existing bridge keeps its own.
    public var mtu: Int?
    /// Addresses the bridge carries as the pods' gateway (`isGateway`), with the subnet's
    /// prefix length (`10.244.1.1/24`).
    public var gatewayAddresses: [IPNetwork]
    /// Turns on IPv4 forwarding in the namespace when a gateway address is set, as a gateway
    /// needs (`sysctl -w net.ipv4.ip_forward=1`).
    public var enablesForwarding: Bool

    /// A configuration; without gateway addresses the bridge is a plain switch.
    public init(name: InterfaceName, mtu: Int? = nil, gatewayAddresses: [IPNetwork] = [], enablesForwarding: Bool = true) {
        self.name = name
        self.mtu = mtu
        self.gatewayAddresses = gatewayAddresses
        self.enablesForwarding = enablesForwarding
    }
}

/// Creating and checking the pod bridge. Safe against concurrent ADDs: a bridge or address
/// that another process created in between is accepted.
public enum BridgeAttachment {
    /// Makes sure the bridge exists, is up and has the gateway addresses:
    /// `ip link add NAME type bridge; ip link set NAME up; ip addr add GW/LEN dev NAME`.
    /// Throws `CNIError` (999) when a device of that name exists but is not a bridge.
    @discardableResult
    public static func ensure(_ configuration: BridgeConfiguration, host: NetlinkHandle) throws(CNIError) -> Link {
        let name = configuration.name
        do {
            var link = try host.linkIfPresent(named: name)
            if link == nil {
                do {
                    try host.addLink(LinkSpecification(name: name, kind: .bridge(BridgeOptions()), mtu: configuration.mtu, isUp: true))
                } catch let error as NetlinkError where error.isAlreadyExists {}
                link = try host.link(named: name)
            }
            guard var bridge = link else { throw CNIError(.internal, "bridge \(name) vanished") }
            guard bridge.kind == .bridge else {
                throw CNIError(.internal, "\(name) already exists and is not a bridge (kind \(bridge.kind.map { "\($0)" } ?? "unknown"))")
            }
            if !bridge.isUp {
                try host.setLinkUp(name)
                bridge.isUp = true
            }
            if !configuration.gatewayAddresses.isEmpty {
                let present = Set(try host.addresses(device: name).map(\.network))
                for address in configuration.gatewayAddresses where !present.contains(address) {
                    do {
                        // IPv6 gateways skip duplicate address detection, so pods can use them at once.
                        try host.addAddress(
                            Address(address, flags: address.family == .v6 ? .noDuplicateAddressDetection : []), device: name)
                    } catch let error as NetlinkError where error.isAlreadyExists {}
                }
                if configuration.enablesForwarding, configuration.gatewayAddresses.contains(where: { $0.family == .v4 }),
                    try host.sysctl("net.ipv4.ip_forward") != "1"
                {
                    try host.setIPForwarding(true)
                }
            }
            return bridge
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.internal, "failed to set up bridge \(name)", details: "\(error)")
        }
    }
}
