import Netlink
import NetPrimitives
import Routing

/// The VXLAN tunnel endpoint of a node, as flannel's vxlan backend makes it: `flannel.<VNI>`,
/// VNI 1, UDP port 8472, no learning (the overlay reconciler programs every peer), MTU = the
/// underlay's MTU − 50, the address = the node subnet's network address /32, and a MAC that
/// survives restarts. With an IPv6 subnet and an IPv6 underlay address it is flannel's IPv6
/// VTEP `flannel-v6.<VNI>` (MTU = underlay − 70, address = the subnet's network address /128).
///
/// ```swift
/// let vtep = try VTEPDevice(nodeName: "node-1", subnet: "10.244.1.0/24", underlayDevice: "eth0",
///                           underlayAddress: "192.168.50.11", underlayMTU: 1500)
/// let state = try vtep.ensure(handle: handle)   // flannel.1, 1450, 10.244.1.0/32
/// ```
public struct VTEPDevice: Hashable, Sendable {
    /// VXLAN encapsulation overhead on IPv4 (outer IP 20 + UDP 8 + VXLAN 8 + Ethernet 14):
    /// Routing's `Routing/Encapsulation/vxlan`.
    public static let encapsulationOverhead = Encapsulation.vxlan.overhead(underlay: .v4)

    public var identifier: UInt32
    public var port: UInt16
    public var nodeName: String
    public var subnet: IPNetwork
    public var underlayDevice: InterfaceName
    public var underlayAddress: IPAddress
    public var underlayMTU: Int
    /// The MAC a new device gets instead of ``derivedMACAddress`` (flannel's kube subnet
    /// manager gives it the one published in the node's `backend-data` annotation, so a
    /// recreated device keeps the MAC its peers know). An existing device keeps its own.
    public var macAddress: MACAddress?
    /// The device's name when it is not flannel's `flannel.<VNI>` (Calico's `vxlan.calico`).
    public var deviceName: InterfaceName?

    public init(
        identifier: UInt32 = 1, port: UInt16 = 8472, nodeName: String, subnet: IPNetwork,
        underlayDevice: InterfaceName, underlayAddress: IPAddress, underlayMTU: Int
    ) throws(VXLANError) {
        guard identifier < 1 << 24 else { throw VXLANError(.invalidConfiguration, "VNI \(identifier) is not below 2^24") }
        guard port != 0 else { throw VXLANError(.invalidConfiguration, "UDP port 0") }
        guard underlayMTU - Encapsulation.vxlan.overhead(underlay: underlayAddress.family) >= (subnet.family == .v6 ? 1280 : 68) else {
            throw VXLANError(.invalidConfiguration, "underlay MTU \(underlayMTU) leaves no room for VXLAN")
        }
        guard subnet.family == underlayAddress.family else {
            throw VXLANError(
                .invalidConfiguration, "a flannel VTEP carries one family over the same family (subnet \(subnet), underlay \(underlayAddress))")
        }
        self.identifier = identifier
        self.port = port
        self.nodeName = nodeName
        self.subnet = subnet
        self.underlayDevice = underlayDevice
        self.underlayAddress = underlayAddress
        self.underlayMTU = underlayMTU
    }

    /// The family the VTEP carries (and its underlay uses).
    public var family: IPAddress.Family { subnet.family }

    /// ``deviceName``, else `flannel.<VNI>` (`flannel-v6.<VNI>` for IPv6).
    public var name: InterfaceName { deviceName ?? Self.flannelName(identifier: identifier, family: family) }

    /// flannel's VTEP name: `flannel.<VNI>`, `flannel-v6.<VNI>`.
    public static func flannelName(identifier: UInt32, family: IPAddress.Family) -> InterfaceName {
        try! InterfaceName(family == .v6 ? "flannel-v6.\(identifier)" : "flannel.\(identifier)")
    }

    /// The underlay MTU minus the encapsulation (50 bytes over IPv4, 70 over IPv6).
    public var mtu: Int { underlayMTU - Encapsulation.vxlan.overhead(underlay: underlayAddress.family) }
    /// The VTEP address: the subnet's network address (`10.244.1.0`).
    public var address: IPAddress { subnet.network.address }
    /// The MAC a new device gets: derived from node name and VNI, so it is stable.
    /// (The IPv6 VTEP's differs from the IPv4 one's.)
    public var derivedMACAddress: MACAddress { Self.derivedMACAddress(nodeName: nodeName, identifier: identifier, family: family) }

    /// The stable MAC of node `nodeName`'s VTEP of `family` (what ``derivedMACAddress`` is).
    public static func derivedMACAddress(nodeName: String, identifier: UInt32, family: IPAddress.Family) -> MACAddress {
        MACAddress.derived(from: Array("\(nodeName)/vxlan\(family == .v6 ? "-v6" : "")/\(identifier)".utf8))
    }

    /// What the device must be created with.
    public var specification: LinkSpecification {
        let options = VXLANOptions(identifier: identifier, localAddress: underlayAddress, underlayDevice: underlayDevice,
                                   port: port, learning: false)
        var specification = LinkSpecification.vxlan(name, options: options, mtu: mtu)
        specification.macAddress = macAddress ?? derivedMACAddress
        return specification
    }

    /// The device as it is after ``ensure(handle:)``.
    public struct State: Hashable, Sendable {
        public var name: InterfaceName
        public var macAddress: MACAddress
        public var mtu: Int
        public var address: IPAddress
        /// Whether the device had to be created (or recreated).
        public var created: Bool
    }

    /// Makes the device exist as specified, adopting an existing one (and its MAC) when its
    /// VNI, port, local address and underlay match; otherwise it is recreated with the MAC it
    /// had. Sets MTU, the /32 address (removing other IPv4 addresses, e.g. of an older
    /// lease) and brings it up. Idempotent: a second call changes nothing.
    /// (`ip link add flannel.1 type vxlan id 1 local IP dev eth0 dstport 8472 nolearning`,
    /// `ip addr replace 10.244.1.0/32 dev flannel.1`, `ip link set flannel.1 up`)
    public func ensure(handle: NetlinkHandle) throws(VXLANError) -> State {
        do {
            var created = false
            var mac = macAddress ?? derivedMACAddress
            if let link = try handle.linkIfPresent(named: name) {
                if let existing = link.macAddress { mac = existing }
                if !matches(link) {
                    try handle.deleteLink(named: name)
                    var specification = self.specification
                    specification.macAddress = mac
                    try handle.addLink(specification)
                    created = true
                } else if link.mtu != mtu {
                    try handle.setMTU(mtu, of: name)
                }
            } else {
                try handle.addLink(specification)
                created = true
            }
            let wanted = IPNetwork(host: address)
            // Other addresses of the family go (an older lease's); the kernel's IPv6 link-local stays.
            for existing in try handle.addresses(family: family, device: name)
            where existing.network != wanted && !(family == .v6 && existing.scope == .link) {
                try handle.deleteAddressIfPresent(existing, device: name)
            }
            try handle.replaceAddress(Address(wanted, flags: family == .v6 ? .noDuplicateAddressDetection : []), device: name)
            try handle.setLinkUp(name)
            return State(name: name, macAddress: mac, mtu: mtu, address: address, created: created)
        } catch let error as NetlinkError {
            throw VXLANError(.kernelRefused, "ensuring \(name)", underlying: error)
        } catch {
            throw VXLANError(.kernelRefused, "ensuring \(name): \(error)")
        }
    }

    /// Whether an existing link can be adopted as is (MTU aside, which is set in place).
    func matches(_ link: Link) -> Bool {
        guard link.kind == .vxlan, let options = link.vxlan else { return false }
        return options.identifier == identifier && (options.port ?? 8472) == port
            && options.localAddress == underlayAddress && !options.learning
    }
}
