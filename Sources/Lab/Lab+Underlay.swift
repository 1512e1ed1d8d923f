import Namespaces
import NetPrimitives
import Netlink

/// The underlay: one /24 on the fabric bridge (default), or N /24 subnets joined by a router
/// (`cnilab up --underlay-subnets N`).
///
/// With N > 1, subnet 0 stays on the fabric bridge `br0` (192.168.77.0/24; the fabric's etcd
/// and API server keep 192.168.77.1) and the router namespace `cnilab-<lab>-router` joins it
/// as 192.168.77.254 (`eth0`); subnet S ≥ 1 is the router's bridge `brS` (192.168.(77+S).0/24,
/// the router being `.1`). Node I sits in subnet I mod N. Nodes, and the fabric, reach the
/// other subnets through the router by one route per subnet; the router routes only the
/// underlay, as a cloud VPC does: no route for any pod network and no proxy ARP, so traffic
/// to a pod address reaches a node of another subnet only inside an encapsulation
/// (flannel's VXLAN, calico's `vxlanMode`), never as a plain route via the node.
///
/// With `--ip-family ipv6|dual` each subnet S also carries `fd77:0:0:S::/64` (the fabric
/// `fd77::1`, the router `::254` on the fabric bridge and `::1` on its own, node I `::(10+I)`),
/// without duplicate address detection, and the router forwards and routes IPv6 the same way.
extension Lab {
    /// The number of underlay subnets of this lab (1 unless `cnilab up --underlay-subnets`).
    public var underlaySubnets: Int { state.underlaySubnets ?? 1 }

    /// The lab's address families (``LabIPFamily/ipv4`` unless `cnilab up --ip-family`).
    public var ipFamily: LabIPFamily { state.ipFamily ?? .ipv4 }

    /// Creates the router namespace: its leg on the fabric bridge, a bridge per further
    /// subnet, forwarding on, and in the fabric a route to each further subnet via the router.
    func createRouter() throws {
        let routerName = LabNames.router(lab: name)
        try recordNamespace(routerName)
        let router = try Self.createNamespace(routerName)
        let fabric = try Self.openNamespace(LabNames.fabric(lab: name))
        let subnets = underlaySubnets
        try Self.kernel("underlay router") {
            let fabricLinks = try NetlinkHandle(namespace: fabric)
            let port = try InterfaceName("router")
            try fabricLinks.addLink(.veth(port, peer: "eth0", peerNamespace: router, mtu: LabAddressing.underlayMTU))
            try fabricLinks.setMaster("br0", of: port)
            try fabricLinks.setLinkUp(port)
            let links = try NetlinkHandle(namespace: router)
            let ipv6 = ipFamily.hasIPv6
            try links.addAddress(Address(try Self.underlayInterfaceNetwork(LabAddressing.routerAddress(subnet: 0))), device: "eth0")
            if ipv6 { try links.addAddress(try Self.underlayIPv6Interface(LabAddressing.routerIPv6Address(subnet: 0)), device: "eth0") }
            try links.setLinkUp("eth0")
            for subnet in 1..<subnets {
                let bridge = try InterfaceName("br\(subnet)")
                try links.addLink(.bridge(bridge))
                try links.addAddress(Address(try Self.underlayInterfaceNetwork(LabAddressing.routerAddress(subnet: subnet))), device: bridge)
                if ipv6 { try links.addAddress(try Self.underlayIPv6Interface(LabAddressing.routerIPv6Address(subnet: subnet)), device: bridge) }
                try links.setLinkUp(bridge)
            }
            try links.setIPForwarding(true)
            if ipv6 { try links.setIPForwarding(true, family: .v6) }
            let gateway = try IPAddress(parsing: LabAddressing.routerAddress(subnet: 0))
            let gateway6 = try IPAddress(parsing: LabAddressing.routerIPv6Address(subnet: 0))
            for subnet in 1..<subnets {
                try fabricLinks.replaceRoute(
                    Route(destination: try IPNetwork(parsing: LabAddressing.underlayNetwork(subnet: subnet)), gateway: gateway, device: "br0"))
                if ipv6 {
                    try fabricLinks.replaceRoute(
                        Route(destination: try IPNetwork(parsing: LabAddressing.underlayIPv6Network(subnet: subnet)), gateway: gateway6, device: "br0"))
                }
            }
        }
    }

    /// Node I's veth to its subnet's bridge (the fabric's `br0` or the router's `brS`), its
    /// address, forwarding, and with several subnets a route to each other subnet via the router.
    func attachToUnderlay(node index: Int, namespace node: NetworkNamespace, address: String, ipv6Address: String? = nil) throws {
        let subnets = underlaySubnets
        let subnet = LabAddressing.underlaySubnet(node: index, subnets: subnets)
        let bridgeNamespace = try Self.openNamespace(subnet == 0 ? LabNames.fabric(lab: name) : LabNames.router(lab: name))
        let namespaceName = LabNames.node(lab: name, index: index)
        try Self.kernel("attaching \(namespaceName) to the underlay") {
            let bridgeLinks = try NetlinkHandle(namespace: bridgeNamespace)
            let port = try InterfaceName("n\(index)")
            try bridgeLinks.addLink(.veth(port, peer: "eth0", peerNamespace: node, mtu: LabAddressing.underlayMTU))
            try bridgeLinks.setMaster(try InterfaceName(subnet == 0 ? "br0" : "br\(subnet)"), of: port)
            try bridgeLinks.setLinkUp(port)
            let links = try NetlinkHandle(namespace: node)
            try links.addAddress(Address(try Self.underlayInterfaceNetwork(address)), device: "eth0")
            if let ipv6Address { try links.addAddress(try Self.underlayIPv6Interface(ipv6Address), device: "eth0") }
            try links.setLinkUp("eth0")
            try links.setIPForwarding(true)
            if ipv6Address != nil { try links.setIPForwarding(true, family: .v6) }
            guard subnets > 1 else { return }
            let gateway = try IPAddress(parsing: LabAddressing.routerAddress(subnet: subnet))
            let gateway6 = try IPAddress(parsing: LabAddressing.routerIPv6Address(subnet: subnet))
            for other in 0..<subnets where other != subnet {
                try links.replaceRoute(
                    Route(destination: try IPNetwork(parsing: LabAddressing.underlayNetwork(subnet: other)), gateway: gateway, device: "eth0"))
                if ipv6Address != nil {
                    try links.replaceRoute(
                        Route(destination: try IPNetwork(parsing: LabAddressing.underlayIPv6Network(subnet: other)), gateway: gateway6, device: "eth0"))
                }
            }
        }
    }

    /// Whether nodes `a` and `b` share an underlay subnet (are on-link to each other).
    func shareUnderlaySubnet(_ a: Int, _ b: Int) -> Bool {
        LabAddressing.underlaySubnet(node: a, subnets: underlaySubnets) == LabAddressing.underlaySubnet(node: b, subnets: underlaySubnets)
    }

    static func underlayInterfaceNetwork(_ address: String) throws -> IPNetwork {
        try IPNetwork(parsing: "\(address)/\(LabAddressing.underlayPrefixLength)")
    }

    /// An IPv6 underlay address on its /64, without duplicate address detection (usable at once).
    static func underlayIPv6Interface(_ address: String) throws -> Address {
        Address(try IPNetwork(parsing: "\(address)/\(LabAddressing.underlayIPv6PrefixLength)"), flags: .noDuplicateAddressDetection)
    }
}
