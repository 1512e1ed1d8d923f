#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CNISpec
import IPAMCore
import NetPrimitives

/// Pod addresses through the IPAM library's host-local allocator, so reservations are in the
/// reference host-local plugin's on-disk format (`DATADIR/NETWORK/ADDRESS` holding
/// `CONTAINERID\r\nIFNAME`, `last_reserved_ip.0`, a flocked `lock`): a node can move between
/// the reference flannel + bridge + host-local chain and swift-flannel in both directions.
///
/// The range is the node subnet with the gateway (its first host) excluded, as the bridge
/// plugin's host-local configuration has it; a dual-stack node has a range per family and a
/// pod an address from each.
struct PodAddressStore: Sendable {
    let directory: String
    let network: String
    let dataDirectory: String

    init(dataDirectory: String, network: String) {
        self.dataDirectory = dataDirectory
        self.network = network
        self.directory = dataDirectory + "/" + network
    }

    /// Whether the store has ever been written (DEL and GC have nothing to do otherwise).
    var exists: Bool { access(directory, F_OK) == 0 }

    private func allocator(ranges: [(subnet: IPNetwork, gateway: IPAddress)]) throws(CNIError) -> HostLocalAllocator {
        let configuration = HostLocalConfiguration(
            ranges: ranges.map { [HostLocalRange(subnet: $0.subnet.network, gateway: $0.gateway)] }, dataDir: dataDirectory)
        return try Self.mapped { try HostLocalAllocator(network: network, configuration: configuration) }
    }

    private func store() throws(CNIError) -> HostLocalDiskStore {
        try Self.mapped { try HostLocalDiskStore(network: network, dataDirectory: dataDirectory) }
    }

    /// Reserves the next free address of each range (a subnet and its gateway) for the
    /// attachment (host-local's round-robin); the same attachment twice is an error.
    func allocate(
        containerID: String, interfaceName: String, ranges: [(subnet: IPNetwork, gateway: IPAddress)], requested: [IPAddress] = []
    ) throws(CNIError) -> [IPAddress] {
        let allocator = try allocator(ranges: ranges)
        let allocation = try Self.mapped { try allocator.allocate(containerID: containerID, interfaceName: interfaceName, requested: requested) }
        let addresses = allocation.addresses.map(\.address.address)
        guard addresses.count == ranges.count else {
            throw CNIError(.internal, "the allocator returned \(addresses.count) addresses for \(ranges.count) ranges")
        }
        return addresses
    }

    /// Frees the attachment's addresses; nothing held is fine. Returns what was freed.
    @discardableResult
    func release(containerID: String, interfaceName: String) throws(CNIError) -> [IPAddress] {
        let store = try store()
        return try Self.mapped { try store.withLock { try store.release(containerID: containerID, interfaceName: interfaceName) } }
    }

    /// The attachment's addresses.
    func addresses(containerID: String, interfaceName: String) throws(CNIError) -> [IPAddress] {
        let store = try store()
        return try Self.mapped { try store.withLock { try store.addresses(containerID: containerID, interfaceName: interfaceName) } }
    }

    /// A freed reservation of ``garbageCollect(valid:)``.
    struct Reservation: Hashable {
        var address: IPAddress
        var containerID: String
        var interfaceName: String?
    }

    /// Frees every reservation whose attachment is not in `valid` (host-local's GC rules) and
    /// returns them with their owners, so the caller can remove their devices too.
    func garbageCollect(valid: [NetworkAttachment]) throws(CNIError) -> [Reservation] {
        let store = try store()
        // Any range will do for a GC: it only reads and frees reservations.
        let allocator = try allocator(ranges: [(try! IPNetwork(parsing: "0.0.0.0/0"), try! IPAddress(parsing: "0.0.0.1"))])
        let owners = try Self.mapped { try store.withLock { try store.reservations() } }
        let freed = Set(try Self.mapped {
            try allocator.garbageCollect(validAttachments: valid.map { Attachment(containerID: $0.containerID, interfaceName: $0.interfaceName) })
        })
        return owners.filter { freed.contains($0.address) }.map {
            Reservation(address: $0.address, containerID: $0.containerID, interfaceName: $0.interfaceName)
        }
    }

    /// Runs an IPAM call, turning its error into the CNI error a runtime shows.
    private static func mapped<T>(_ body: () throws -> T) throws(CNIError) -> T {
        do { return try body() } catch { throw CNIError.fromIPAM(error, "address store") }
    }
}
