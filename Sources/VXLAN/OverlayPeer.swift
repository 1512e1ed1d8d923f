import NetPrimitives

/// A remote node of the overlay: its pod subnet, its underlay address (flannel's
/// `PublicIP`) and the MAC of its VTEP (flannel's `VtepMAC`).
public struct OverlayPeer: Hashable, Sendable, CustomStringConvertible {
    public var subnet: IPNetwork
    public var underlayAddress: IPAddress
    public var vtepMACAddress: MACAddress

    public init(subnet: IPNetwork, underlayAddress: IPAddress, vtepMACAddress: MACAddress) {
        self.subnet = subnet
        self.underlayAddress = underlayAddress
        self.vtepMACAddress = vtepMACAddress
    }

    /// The peer's VTEP address: its subnet's network address.
    public var vtepAddress: IPAddress { subnet.network.address }

    public var description: String { "\(subnet.network) at \(underlayAddress) (\(vtepMACAddress))" }
}
