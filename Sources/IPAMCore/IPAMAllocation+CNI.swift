import CNISpec
import NetPrimitives

extension CNIResult {
    /// The CNI result of an IPAM allocation: one `ips` entry per address (with its subnet's
    /// prefix and gateway, pointing at `interface` when given), the allocation's routes and DNS.
    ///
    /// ```swift
    /// let allocation = try allocator.allocate(containerID: request.containerID, interfaceName: "eth0")
    /// return CNIResult(allocation, cniVersion: request.version)
    /// ```
    public init(_ allocation: IPAMAllocation, cniVersion: CNIVersion = .latest, interface: Int? = nil) {
        self.init(
            cniVersion: cniVersion,
            ips: allocation.addresses.map { IPConfiguration(address: $0.address, gateway: $0.gateway, interface: interface) },
            routes: allocation.routes, dns: allocation.dns)
    }
}
