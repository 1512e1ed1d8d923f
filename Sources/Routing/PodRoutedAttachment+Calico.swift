import Netlink
import NetPrimitives

/// Calico's routed attachment as a preset (swift-calico and swift-canal): host end `cali` and
/// 11 hex digits, MAC address ee:ee:ee:ee:ee:ee (`MACAddress.calicoHost`), host routes `proto 92`.
extension PodRoutedAttachment {
    /// `proto 92`: the per-pod host routes of the calico-style plugins.
    public static let calicoRouteProtocol = Netlink.Route.ProtocolTag(92)
    /// The host-end name prefix, `cali`.
    public static let calicoInterfacePrefix = "cali"

    /// The calico-style attachment of `veth` with `addresses`.
    public static func calico(veth: PodAttachment, addresses: [IPNetwork]) -> PodRoutedAttachment {
        PodRoutedAttachment(
            veth: veth, addresses: addresses, hostRouteProtocol: calicoRouteProtocol, hostMACAddress: .calicoHost)
    }
}
