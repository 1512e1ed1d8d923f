import CNISpec
import Datastore
import IPAM
import NetPrimitives

/// Where a pod's addresses come from: the block-affinity IPAM in process (`calico-ipam`),
/// host-local in process (IPAMCore's `InProcessHostLocal`: same keys, same files), or a
/// delegated IPAM plugin (swift-ipam, …) run from CNI_PATH.
enum AddressSource {
    /// `requested`: addresses asked for (`IP=` in `CNI_ARGS`, the `ips` capability), else empty.
    case blocks(BlockAllocator, handle: String, requested: [IPAddress])
    case hostLocal(InProcessHostLocal)
    case delegated(DelegatedPlugin)

    init(configuration: CalicoNetworkConfiguration, request: PluginRequest) throws(CNIError) {
        guard let ipam = configuration.ipam else {
            throw CNIError(.invalidNetworkConfig, "swift-calico needs an \"ipam\" section")
        }
        // Addresses asked for through the runtime configuration or `args` go to the real plugin.
        if ipam.type == InProcessHostLocal.type, configuration.runtimeConfig?.ips == nil, configuration.args == nil {
            self = .hostLocal(try InProcessHostLocal(network: configuration.name ?? "", ipam: ipam, request: request))
            return
        }
        guard ipam.type == CalicoOptions.inProcessIPAMType else {
            self = .delegated(DelegatedPlugin(type: ipam.type, request: request))
            return
        }
        let options: BlockIPAMOptions = try ipam.decode()
        let pools = try options.effectivePools()
        guard let datastore = configuration.options.datastore, let node = configuration.options.nodeName, !node.isEmpty else {
            throw CNIError(.invalidNetworkConfig, "ipam type \(CalicoOptions.inProcessIPAMType) needs \"datastore\" and \"nodeName\"")
        }
        do {
            let store = try StoreLocation.open(datastore, security: configuration.etcdSecurity)
            let allocator = try BlockAllocator(
                store: store, node: node, pools: pools, strictAffinity: options.strictAffinity ?? false)
            // GC and STATUS carry no container ID; they need no handle.
            let handle = request.containerID.isEmpty
                ? "" : try BlockAllocator.handle(network: configuration.name ?? "", containerID: request.containerID)
            self = .blocks(allocator, handle: handle, requested: try Self.requestedAddresses(configuration: configuration, request: request))
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError.fromIPAM(error)
        }
    }

    /// The addresses a pod asks for in block mode: `runtimeConfig.ips` (the `ips` capability:
    /// `["10.244.0.9/32"]`, a prefix ignored) or else `IP=` in `CNI_ARGS` (comma-separated).
    static func requestedAddresses(configuration: CalicoNetworkConfiguration, request: PluginRequest) throws(CNIError) -> [IPAddress] {
        var result = try configuration.runtimeConfig?.requestedAddresses() ?? []
        if !result.isEmpty { return result }
        for text in (request.arguments["IP"] ?? "").split(separator: ",").map(String.init) {
            guard let address = IPAddress(String(text.split(separator: "/").first ?? "")) else {
                throw CNIError(.invalidNetworkConfig, "invalid requested IP \"\(text)\"")
            }
            if !result.contains(address) { result.append(address) }
        }
        return result
    }

    /// Whether ``allocate(alsoWriting:)`` writes the extra keys with the allocation (the
    /// block IPAM's one datastore transaction); otherwise the caller writes them itself.
    var writesAlongsideAllocation: Bool {
        if case .blocks = self { true } else { false }
    }

    /// Allocates the pod's addresses (as host networks /32, /128, or what the delegate gave).
    /// With the block IPAM, the writes `alsoWriting` derives from the addresses go into the
    /// allocation's transaction (see ``writesAlongsideAllocation``).
    func allocate(
        alsoWriting extra: ([IPNetwork]) throws -> [DatastoreTransaction.Operation] = { _ in [] }
    ) async throws(CNIError) -> CNIResult {
        switch self {
        case .delegated(let plugin):
            return try await plugin.add().current()
        case .hostLocal(let hostLocal):
            return try hostLocal.add()
        case .blocks(let allocator, let handle, let requested):
            do {
                let addresses = try await allocator.allocate(handle: handle, requested: requested) { try extra($0.map { IPNetwork(host: $0.address) }) }
                return CNIResult(ips: addresses.map { CNIResult.IPConfiguration(address: IPNetwork(host: $0.address)) })
            } catch {
                throw CNIError.fromIPAM(error)
            }
        }
    }

    func release() async throws(CNIError) {
        switch self {
        case .delegated(let plugin): try await plugin.delete()
        case .hostLocal(let hostLocal): try hostLocal.delete()
        case .blocks(let allocator, let handle, _):
            do { _ = try await allocator.release(handle: handle) } catch { throw CNIError.fromIPAM(error) }
        }
    }

    func check() async throws(CNIError) {
        switch self {
        case .delegated(let plugin): try await plugin.check()
        case .hostLocal(let hostLocal): try hostLocal.check()
        case .blocks(let allocator, let handle, _):
            let record: KeyValue?
            do { record = try await allocator.store.get(KeyLayout.handle(handle)) } catch { throw CNIError.fromIPAM(error) }
            guard record != nil else { throw CNIError(.internal, "IPAM handle \(handle) does not exist") }
        }
    }

    func garbageCollect(network: String, validAttachments: [NetworkAttachment]) async throws(CNIError) {
        let validContainerIDs = Set(validAttachments.map(\.containerID))
        switch self {
        case .delegated(let plugin): try await plugin.garbageCollect()
        case .hostLocal(let hostLocal): try hostLocal.garbageCollect(validAttachments: validAttachments)
        case .blocks(let allocator, _, _):
            do { _ = try await allocator.garbageCollect(network: network, validContainerIDs: validContainerIDs) } catch {
                throw CNIError.fromIPAM(error)
            }
        }
    }

    func status() async throws(CNIError) {
        switch self {
        case .delegated(let plugin): try await plugin.status()
        // The allocator opened (and if needed created) its data directory: it can allocate.
        case .hostLocal: break
        case .blocks(let allocator, _, _):
            do { _ = try await allocator.store.get(KeyLayout.root + "/status-probe") } catch {
                throw CNIError(.pluginNotAvailable, "the datastore does not answer", details: "\(error)")
            }
        }
    }
}
