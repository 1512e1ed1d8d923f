import NetPrimitives

/// A remote node of the overlay: its pod subnet, its underlay address (flannel's
/// `PublicIP`) and the MAC of its VTEP (flannel's `VtepMAC`).
public struct OverlayPeer: Hashable, Sendable, CustomStringConvertible {
    public var subnet: IPNetwork
    public var underlayAddress: IPAddress
    public var vtepMACAddress: MACAddress
    /// The peer's VTEP address when it is not its subnet's network address (Calico's
    /// `ipv4VXLANTunnelAddr`, an address of one of the node's blocks, shared by all of them).
    public var tunnelAddress: IPAddress?
    /// False: always through the tunnel, even with direct routing on the same subnet (a
    /// Calico pool with `vxlanMode: Always` beside one with `CrossSubnet`).
    public var mayRouteDirectly = true

    public init(subnet: IPNetwork, underlayAddress: IPAddress, vtepMACAddress: MACAddress, tunnelAddress: IPAddress? = nil) {
        self.subnet = subnet
        self.underlayAddress = underlayAddress
        self.vtepMACAddress = vtepMACAddress
        self.tunnelAddress = tunnelAddress
    }

    /// The peer's VTEP address: ``tunnelAddress``, else its subnet's network address (flannel).
    public var vtepAddress: IPAddress { tunnelAddress ?? subnet.network.address }

    public var description: String { "\(subnet.network) at \(underlayAddress) (\(vtepMACAddress))" }
}
