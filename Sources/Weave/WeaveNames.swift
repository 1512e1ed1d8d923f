import NetPrimitives
import Routing

/// Weave Net's names and numbers, as swift-weave uses them on a node.
public enum WeaveNames {
    /// The pod bridge.
    public static let bridge: InterfaceName = "weave"
    /// The kernel VXLAN port of the fast path, in ``bridge``.
    public static let fastPathDevice: InterfaceName = "vxlan-6784"
    /// The fast path's UDP port (kernel VXLAN).
    public static let fastPathPort: UInt16 = 6784
    /// The VXLAN network identifier of the fast path (one flat L2 network).
    public static let fastPathIdentifier: UInt32 = 0x7765  // "we"
    /// The sleeve's TAP port in ``bridge`` (user-space forwarding over UDP ``controlPort``).
    public static let sleeveDevice = try! InterfaceName("sleeve-6783")
    /// The control port (TCP) and the sleeve's UDP port.
    public static let controlPort = 6783
    /// The default address range, split among the peers by the ring.
    public static let defaultRange = try! IPNetwork(parsing: "10.32.0.0/12")
    /// The ring key of the bridge's own address (the pods' gateway on this node).
    public static let bridgeAddressOwner = "weave-bridge"
    /// The agent's local socket, where the plugin asks for addresses.
    public static let defaultSocketPath = "/run/swift-weave/weave.sock"

    /// A pod's host veth: `vethwepl` and seven hex digits of a hash of the container ID and
    /// interface (`vethwepl3f2a9c0`), stable across ADD, CHECK and DEL.
    public static func hostInterface(containerID: String, interfaceName: String) -> InterfaceName {
        let digits = PodInterfaceNaming.hostInterfaceName(containerID: containerID, interfaceName: interfaceName, prefix: "").value
        return try! InterfaceName("vethwepl" + digits.prefix(7))
    }
}
