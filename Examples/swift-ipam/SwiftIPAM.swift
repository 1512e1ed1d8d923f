import CNISpec
import Datastore
import IPAM
import NetPrimitives
#if canImport(Glibc)
import Glibc
#endif

/// What swift-ipam does per CNI command, independent of how the request arrived.
struct SwiftIPAM {
    var configuration: IPAMNetworkConfiguration
    var containerID: String
    var interfaceName: String
    var cniArguments: String

    var mode: IPAMPluginOptions.Mode { configuration.ipam.mode ?? .hostLocal }
    var options: IPAMPluginOptions { configuration.ipam }

    var nodeName: String {
        if let name = options.nodeName, !name.isEmpty { return name }
        var buffer = [UInt8](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }

    func openStore() throws -> any Datastore {
        try StoreLocation.open(options.datastore ?? IPAMPluginOptions.defaultDatastore, security: configuration.etcdSecurity)
    }

    var handle: String { get throws { try BlockAllocator.handle(network: configuration.name, containerID: containerID) } }

    func blockAllocator() throws -> BlockAllocator {
        guard let pools = options.pools, !pools.isEmpty else {
            throw IPAMError(.invalidConfiguration, "mode block needs \"pools\"")
        }
        return try BlockAllocator(store: try openStore(), node: nodeName, pools: pools, strictAffinity: options.strictAffinity ?? false)
    }

    /// subnet-lease: the node's leased subnet as a host-local range.
    func leasedHostLocal() async throws -> HostLocalAllocator {
        guard let network = options.network else { throw IPAMError(.invalidConfiguration, "mode subnet-lease needs \"network\"") }
        let manager = SubnetLeaseManager(store: try openStore(), prefix: options.prefix ?? KeyLayout.flannelDefaultPrefix)
        let proposed = SubnetLeaseConfiguration(
            network: network, subnetLength: options.subnetLen, subnetMin: options.subnetMin, subnetMax: options.subnetMax)
        let stored = try await manager.ensureConfiguration(proposed)
        let lease = try await manager.acquire(
            node: nodeName, attributes: SubnetLeaseAttributes(publicIP: ""), configuration: stored,
            ttlSeconds: options.leaseTTL ?? 24 * 3600)
        var hostLocal = configuration.hostLocal
        hostLocal.ranges = [[HostLocalRange(subnet: lease.subnet)]]
        hostLocal.subnet = nil
        if hostLocal.routes == nil { hostLocal.routes = [CNIRoute(destination: stored.Network.network)] }
        return try HostLocalAllocator(network: configuration.name, configuration: hostLocal)
    }

    func add() async throws -> IPAMAllocation {
        let requested = try configuration.requestedAddresses(cniArguments: cniArguments)
        switch mode {
        case .hostLocal:
            return try HostLocalAllocator(network: configuration.name, configuration: configuration.hostLocal)
                .allocate(containerID: containerID, interfaceName: interfaceName, requested: requested)
        case .subnetLease:
            return try await leasedHostLocal().allocate(containerID: containerID, interfaceName: interfaceName, requested: requested)
        case .block:
            guard requested.isEmpty else { throw IPAMError(.invalidConfiguration, "requested IPs are supported in host-local and subnet-lease modes only") }
            let addresses = try await blockAllocator().allocate(handle: try handle)
            // Calico-style: each address as a host route (/32, /128), no gateway.
            return IPAMAllocation(
                addresses: addresses.map { IPAMAllocation.Address(address: IPNetwork(host: $0.address), gateway: nil) },
                routes: configuration.hostLocal.routes ?? [])
        }
    }

    func delete() async throws {
        switch mode {
        case .hostLocal, .subnetLease:
            // DEL needs no datastore: the reservations are files in dataDir.
            let store = try HostLocalDiskStore(network: configuration.name, dataDirectory: configuration.hostLocal.dataDir)
            _ = try store.withLock { try store.release(containerID: containerID, interfaceName: interfaceName) }
        case .block:
            try await blockAllocator().release(handle: try handle)
        }
    }

    func check() async throws {
        switch mode {
        case .hostLocal:
            _ = try HostLocalAllocator(network: configuration.name, configuration: configuration.hostLocal)
                .check(containerID: containerID, interfaceName: interfaceName)
        case .subnetLease:
            let store = try HostLocalDiskStore(network: configuration.name, dataDirectory: configuration.hostLocal.dataDir)
            if try store.withLock({ try store.addresses(containerID: containerID, interfaceName: interfaceName) }).isEmpty {
                throw IPAMError(.notAllocated, "\(containerID)/\(interfaceName) holds no address")
            }
        case .block:
            guard try await openStore().get(KeyLayout.handle(try handle)) != nil else {
                throw IPAMError(.notAllocated, "handle \(try handle) does not exist")
            }
        }
    }

    func garbageCollect() async throws {
        let valid = configuration.validAttachments.map { Attachment(containerID: $0.containerID, interfaceName: $0.ifname) }
        switch mode {
        case .hostLocal:
            try HostLocalAllocator(network: configuration.name, configuration: configuration.hostLocal).garbageCollect(validAttachments: valid)
        case .subnetLease:
            try await leasedHostLocal().garbageCollect(validAttachments: valid, onlyConfiguredRanges: true)
        case .block:
            try await blockAllocator().garbageCollect(network: configuration.name, validContainerIDs: Set(valid.map(\.containerID)))
        }
    }

    /// STATUS: the datastore must answer.
    func status() async throws {
        if mode != .hostLocal { _ = try await openStore().get(KeyLayout.root + "/status-probe") }
    }
}
