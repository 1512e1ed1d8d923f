import Netlink
import NetPrimitives

/// A VXLAN device as a port of a bridge: one L2 network stretched across nodes, as Weave's
/// fast path lays it out (`vxlan-6784` in bridge `weave`). Unlike flannel's VTEP
/// (``VTEPDevice``, an L3 device with routes per node), this device carries no address and no
/// routes: the bridge forwards frames to it, the kernel learns which remote VTEP owns a MAC from
/// the frames it receives (`learning`), and frames for unknown MACs and broadcasts go to every
/// entry of the flood list (``FloodListReconciler``).
///
/// ```swift
/// let port = try BridgedVXLANPort(name: "vxlan-6784", identifier: 1, port: 6784, bridge: "weave",
///                                 underlayDevice: "eth0", underlayAddress: "192.168.77.10", underlayMTU: 1500)
/// try port.ensure(handle: handle)
/// // ip link add vxlan-6784 mtu 1450 master weave up type vxlan id 1 local 192.168.77.10 dev eth0 dstport 6784 learning
/// ```
public struct BridgedVXLANPort: Hashable, Sendable {
    public var name: InterfaceName
    public var identifier: UInt32
    public var port: UInt16
    public var bridge: InterfaceName
    public var underlayDevice: InterfaceName
    public var underlayAddress: IPAddress
    public var underlayMTU: Int

    public init(
        name: InterfaceName, identifier: UInt32, port: UInt16, bridge: InterfaceName, underlayDevice: InterfaceName,
        underlayAddress: IPAddress, underlayMTU: Int
    ) throws(VXLANError) {
        guard identifier < 1 << 24 else { throw VXLANError(.invalidConfiguration, "VNI \(identifier) is not below 2^24") }
        guard port != 0 else { throw VXLANError(.invalidConfiguration, "UDP port 0") }
        guard underlayMTU - VTEPDevice.encapsulationOverhead >= 68 else {
            throw VXLANError(.invalidConfiguration, "underlay MTU \(underlayMTU) leaves no room for VXLAN")
        }
        guard underlayAddress.family == .v4 else {
            throw VXLANError(.invalidConfiguration, "the bridged VXLAN port runs over IPv4 (underlay \(underlayAddress))")
        }
        self.name = name
        self.identifier = identifier
        self.port = port
        self.bridge = bridge
        self.underlayDevice = underlayDevice
        self.underlayAddress = underlayAddress
        self.underlayMTU = underlayMTU
    }

    /// The underlay MTU minus the encapsulation: the largest frame payload the port carries.
    public var mtu: Int { underlayMTU - VTEPDevice.encapsulationOverhead }

    /// What the device is created with: learning on, enslaved to the bridge, up.
    public var specification: LinkSpecification {
        let options = VXLANOptions(
            identifier: identifier, localAddress: underlayAddress, underlayDevice: underlayDevice, port: port, learning: true)
        var specification = LinkSpecification.vxlan(name, options: options, mtu: mtu)
        specification.master = bridge
        specification.isUp = true
        return specification
    }

    /// Makes the device exist as specified: an existing one with the same VNI, port, local
    /// address and learning is adopted (MTU, bridge and up state set in place), anything else
    /// of that name is replaced. Idempotent. The bridge must exist.
    @discardableResult
    public func ensure(handle: NetlinkHandle) throws(VXLANError) -> Link {
        do {
            if let link = try handle.linkIfPresent(named: name) {
                if matches(link) {
                    if link.mtu != mtu { try handle.setMTU(mtu, of: name) }
                    let bridgeIndex = try handle.link(named: bridge).index
                    if link.masterIndex != bridgeIndex { try handle.setMaster(bridge, of: name) }
                    if !link.isUp { try handle.setLinkUp(name) }
                    return try handle.link(named: name)
                }
                try handle.deleteLink(named: name)
            }
            try handle.addLink(specification)
            return try handle.link(named: name)
        } catch let error as NetlinkError {
            throw VXLANError(.kernelRefused, "ensuring \(name) in \(bridge)", underlying: error)
        } catch {
            throw VXLANError(.kernelRefused, "ensuring \(name) in \(bridge): \(error)")
        }
    }

    /// Whether an existing link can be adopted as is (MTU, master and up state aside).
    func matches(_ link: Link) -> Bool {
        guard link.kind == .vxlan, let options = link.vxlan else { return false }
        return options.identifier == identifier && options.port == port && options.localAddress == underlayAddress
            && options.learning
    }
}
