import CNISpec
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

    func add(_ request: PluginRequest) async throws -> CNIResult {
        let options = try CanalOptions(decoding: request.configurationBytes)
        let interface = try request.requiredInterfaceName()
        let capabilities = options.runtimeConfig ?? RuntimeCapabilities()
        try capabilities.refuseUnhonoured(CanalOptions.honouredCapabilities, plugin: "swift-canal")
        let mac = try capabilities.macAddress()
        let requested = try capabilities.requestedAddresses()
        let subnet = try Self.loadSubnet(options.subnetPath)
        let registry = try PodRecordWriter(options: options)
        // The pod's labels and named ports from the API (`kubernetes.kubeconfig`), before anything is allocated.
        let metadata = registry == nil ? nil : try PodMetadata.fetch(request)
        let podNamespace = try request.podNamespace()
        let host = try PluginRequest.nodeHandle()
        let pod = try PluginRequest.handle(in: podNamespace)
        let allocator = try Self.allocator(options, subnet: subnet)
        let allocation = try Self.ipam { try allocator.allocate(containerID: request.containerID, interfaceName: interface.value, requested: requested) }
        let routed = PodRoutedAttachment.calico(
            veth: PodAttachment(
                containerID: request.containerID, interfaceName: interface, podNamespace: podNamespace,
                mtu: options.mtu ?? subnet.mtu, hostInterface: Self.hostInterface(request, interface), containerMACAddress: mac),
            addresses: allocation.addresses.map { IPNetwork(host: $0.address.address) })
        do {
            // Also the pod's permanent neighbour entry for 169.254.1.1 (the host end's MAC).
            let links = try routed.create(host: host, pod: pod)
            try await registry?.register(
                request, addresses: routed.addresses.map { "\($0.address)" }, hostInterface: routed.veth.hostInterface.value, metadata: metadata)
            var result = routed.result(links: links, sandbox: request.networkNamespace, version: request.version)
            if let dns = capabilities.resultDNS { result.dns = dns }
            return result
        } catch {
            _ = try? routed.remove(host: host)
            _ = try? allocator.release(containerID: request.containerID, interfaceName: interface.value)
            throw error
        }
    }

    func delete(_ request: PluginRequest) async throws {
        let options = try CanalOptions(decoding: request.configurationBytes)
        let interface = try request.requiredInterfaceName()
        let host = try PluginRequest.nodeHandle()
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
        let interface = try request.requiredInterfaceName()
        let host = try PluginRequest.nodeHandle()
        let name = Self.hostInterface(request, interface)
        guard let previous = try request.previousResult() else {
            try CheckValidation.validateHost(hostInterface: name, bridge: nil, host: host)
            return
        }
        let podNamespace = try request.podNamespace()
        let routed = PodRoutedAttachment.calico(
            veth: PodAttachment(
                containerID: request.containerID, interfaceName: interface, podNamespace: podNamespace, hostInterface: name),
            addresses: PodAddressing.addresses(of: previous, interface: interface).map(\.address))
        try routed.validate(host: host, pod: try PluginRequest.handle(in: podNamespace))
    }

    func status(_ request: PluginRequest) async throws {
        let options = try CanalOptions(decoding: request.configurationBytes)
        // swift-canald (policy) and its swift-flanneld (overlay, subnet.env) must both be ready.
        try AgentReadiness.check(path: options.agentReadinessPath, agent: "swift-canald")
        try AgentReadiness.check(path: options.overlayReadinessPath, agent: "swift-flanneld")
        do { _ = try Self.loadSubnet(options.subnetPath) } catch {
            throw CNIError(.pluginNotAvailable, error.message, details: error.details)
        }
    }

    // MARK: Helpers

    /// `cali` + a hash of the container ID and interface: stable across ADD, CHECK and DEL.
    static func hostInterface(_ request: PluginRequest, _ interface: InterfaceName) -> InterfaceName {
        hostInterfaceName(containerID: request.containerID, interface: interface.value)
    }

    static func hostInterfaceName(containerID: String, interface: String) -> InterfaceName {
        PodInterfaceNaming.hostInterfaceName(containerID: containerID, interfaceName: interface, prefix: PodRoutedAttachment.calicoInterfacePrefix)
    }

    /// The node's lease in subnet.env (written by swift-flanneld under swift-canald): its IPv4
    /// subnet, its IPv6 subnet or both (a pod gets an address of each); missing is code 11, a
    /// bad file or an IPv4 subnet without room for pods code 7.
    static func loadSubnet(_ path: String) throws(CNIError) -> (subnets: [IPNetwork], mtu: Int?) {
        do throws(IPAMError) {
            let environment = try SubnetEnvironment.load(path: path)
            var subnets = environment.subnet == nil ? [] : [try environment.ipv4PodSubnet()]
            if let ipv6Subnet = environment.ipv6Subnet { subnets.append(ipv6Subnet.network) }
            return (subnets, environment.mtu)
        } catch {
            throw CNIError(error)
        }
    }

    static func allocator(_ options: CanalOptions, subnet: (subnets: [IPNetwork], mtu: Int?)) throws(CNIError) -> HostLocalAllocator {
        try ipam {
            try HostLocalAllocator(
                network: options.networkName,
                configuration: HostLocalConfiguration(
                    ranges: subnet.subnets.map { [HostLocalRange(subnet: $0)] }, dataDir: options.dataDirectory))
        }
    }

    static func ipam<T>(_ body: () throws -> T) throws(CNIError) -> T {
        do { return try body() } catch { throw CNIError.fromIPAM(error, "host-local IPAM failed") }
    }
}
