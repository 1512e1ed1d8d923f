import CNISpec
#if canImport(Glibc)
import Glibc
#endif
import IPAM
import Namespaces
import Netlink
import NetPrimitives
import Routing

/// swift-canal: Canal's pod data path. Each pod gets Calico's routed veth (host end `cali…`,
/// /32 host route `proto 92`, gateway 169.254.1.1 as a permanent neighbour) and an address from
/// host-local over this node's flannel subnet (subnet.env, written by swift-flanneld under
/// swift-canald); flannel's VXLAN overlay carries the traffic between nodes, and swift-canald's
/// policy agent filters it on the `cali…` interfaces.
struct SwiftCanalPlugin: CNIPlugin {
    var about: String { "swift-canal: routed veth per pod over flannel's VXLAN subnet, with network policy (swift-cni)" }

    static let hostMACAddress = MACAddress("ee:ee:ee:ee:ee:ee")!
    static let hostRouteProtocol = Netlink.Route.ProtocolTag(92)

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let options = try CanalOptions(decoding: request.configurationBytes)
        let interface = try Self.interface(request)
        let subnet = try Self.loadSubnet(options.subnetPath)
        let registry = try PodRecordWriter(options: options)
        let podNamespace = try Self.openPod(request)
        let host = try Self.handle(NetworkNamespace.current())
        let pod = try Self.handle(podNamespace)
        let allocator = try Self.allocator(options, subnet: subnet)
        let allocation = try Self.ipam { try allocator.allocate(containerID: request.containerID, interfaceName: interface.value) }
        let routed = PodRoutedAttachment(
            veth: PodAttachment(
                containerID: request.containerID, interfaceName: interface, podNamespace: podNamespace,
                mtu: options.mtu ?? subnet.mtu, hostInterface: Self.hostInterface(request, interface)),
            addresses: allocation.addresses.map { IPNetwork(host: $0.address.address) },
            hostRouteProtocol: Self.hostRouteProtocol, hostMACAddress: Self.hostMACAddress)
        do {
            // Also the pod's permanent neighbour entry for 169.254.1.1 (the host end's MAC).
            let links = try routed.create(host: host, pod: pod)
            try await registry?.register(
                request, addresses: routed.addresses.map { "\($0.address)" }, hostInterface: routed.veth.hostInterface.value)
            return routed.result(links: links, sandbox: request.networkNamespace, version: request.version)
        } catch {
            _ = try? routed.remove(host: host)
            _ = try? allocator.release(containerID: request.containerID, interfaceName: interface.value)
            throw error
        }
    }

    func delete(_ request: PluginRequest) async throws {
        let options = try CanalOptions(decoding: request.configurationBytes)
        let interface = try Self.interface(request)
        let host = try Self.handle(NetworkNamespace.current())
        // The host end alone: deleting it removes the pod end and the host route.
        _ = try PodAttachment.remove(hostInterface: Self.hostInterface(request, interface), host: host)
        if let registry = try PodRecordWriter(options: options) { try await registry.unregister(request) }
        // DEL must succeed without subnet.env (flanneld gone): the reservation directory is
        // keyed by network name, any range will do.
        guard let subnet = try? Self.loadSubnet(options.subnetPath) else { return }
        let allocator = try Self.allocator(options, subnet: subnet)
        _ = try Self.ipam { try allocator.release(containerID: request.containerID, interfaceName: interface.value) }
    }

    /// CHECK: with a prevResult, the whole routed attachment (`PodRoutedAttachment.validate`:
    /// host end up with its host routes, pod end with its addresses and default route);
    /// without one, only that the host end exists and is up.
    func check(_ request: PluginRequest) async throws {
        _ = try CanalOptions(decoding: request.configurationBytes)
        let interface = try Self.interface(request)
        let host = try Self.handle(NetworkNamespace.current())
        let name = Self.hostInterface(request, interface)
        guard let previous = try request.previousResult() else {
            try CheckValidation.validateHost(hostInterface: name, bridge: nil, host: host)
            return
        }
        let podNamespace = try Self.openPod(request)
        let routed = PodRoutedAttachment(
            veth: PodAttachment(
                containerID: request.containerID, interfaceName: interface, podNamespace: podNamespace, hostInterface: name),
            addresses: PodAddressing.addresses(of: previous, interface: interface).map(\.address), hostRouteProtocol: Self.hostRouteProtocol, hostMACAddress: Self.hostMACAddress)
        try routed.validate(host: host, pod: try Self.handle(podNamespace))
    }

    func status(_ request: PluginRequest) async throws {
        let options = try CanalOptions(decoding: request.configurationBytes)
        do { _ = try Self.loadSubnet(options.subnetPath) } catch {
            throw CNIError(.pluginNotAvailable, error.message, details: error.details)
        }
    }

    // MARK: Helpers

    static func interface(_ request: PluginRequest) throws(CNIError) -> InterfaceName {
        guard let interface = request.interfaceName else { throw CNIError(.invalidEnvironmentVariables, "CNI_IFNAME is required") }
        return interface
    }

    /// `cali` + a hash of the container ID and interface: stable across ADD, CHECK and DEL.
    static func hostInterface(_ request: PluginRequest, _ interface: InterfaceName) -> InterfaceName {
        hostInterfaceName(containerID: request.containerID, interface: interface.value)
    }

    static func hostInterfaceName(containerID: String, interface: String) -> InterfaceName {
        PodInterfaceNaming.hostInterfaceName(containerID: containerID, interfaceName: interface, prefix: "cali")
    }

    static func loadSubnet(_ path: String) throws(CNIError) -> NodeSubnet {
        guard let file = fopen(path, "r") else {
            throw CNIError(.tryAgainLater, "failed to read \(path)", details: "is swift-canald running on this node?")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return try NodeSubnet(parsing: String(decoding: bytes, as: UTF8.self))
    }

    static func allocator(_ options: CanalOptions, subnet: NodeSubnet) throws(CNIError) -> HostLocalAllocator {
        try ipam {
            try HostLocalAllocator(
                network: options.networkName,
                configuration: HostLocalConfiguration(
                    ranges: [[AddressRange(subnet: subnet.subnet.network)]], dataDir: options.dataDirectory))
        }
    }

    static func ipam<T>(_ body: () throws -> T) throws(CNIError) -> T {
        do { return try body() } catch let error as CNIError { throw error } catch {
            throw CNIError(.internal, "host-local IPAM failed", details: "\(error)")
        }
    }

    static func openPod(_ request: PluginRequest) throws(CNIError) -> NetworkNamespace {
        guard !request.networkNamespace.isEmpty else { throw CNIError(.invalidEnvironmentVariables, "CNI_NETNS is required") }
        do { return try NetworkNamespace.open(path: request.networkNamespace) } catch {
            throw CNIError(.invalidEnvironmentVariables, "failed to open netns \(request.networkNamespace)", details: "\(error)")
        }
    }

    static func handle(_ namespace: @autoclosure () throws -> NetworkNamespace) throws(CNIError) -> NetlinkHandle {
        do { return try NetlinkHandle(namespace: try namespace()) } catch {
            throw CNIError(.internal, "failed to open netlink", details: "\(error)")
        }
    }
}
