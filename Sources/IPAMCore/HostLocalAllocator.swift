import CNISpec
import NetPrimitives

/// host-local's allocator: one address per range set, round-robin, requested addresses
/// honoured, state in ``HostLocalDiskStore`` (the same files the reference plugin writes).
///
/// ```swift
/// let configuration = HostLocalConfiguration(ranges: [[HostLocalRange(subnet: "10.22.0.0/24")]], dataDir: "/tmp/ipam")
/// let allocator = try HostLocalAllocator(network: "demo", configuration: configuration)
/// let allocation = try allocator.allocate(containerID: "c1", interfaceName: "eth0")
/// // allocation.addresses[0].address == 10.22.0.2/24, gateway 10.22.0.1
/// try allocator.release(containerID: "c1", interfaceName: "eth0")
/// ```
public struct HostLocalAllocator: Sendable {
    public let configuration: HostLocalConfiguration
    public let rangeSets: [[CanonicalRange]]
    public let store: HostLocalDiskStore

    public init(network: String, configuration: HostLocalConfiguration) throws {
        self.configuration = configuration
        rangeSets = try configuration.canonicalRangeSets()
        store = try HostLocalDiskStore(network: network, dataDirectory: configuration.dataDir)
    }

    /// Allocates one address from every range set (the requested address where one falls in
    /// the set). All or nothing: on failure, what this call reserved is released.
    public func allocate(containerID: String, interfaceName: String, requested: [IPAddress] = []) throws -> IPAMAllocation {
        try Identifier.validateContainerID(containerID)
        try Identifier.validateInterfaceName(interfaceName)
        // resolv.conf first: a failure must not leave a reservation behind.
        var dns = DNS()
        if let path = configuration.resolvConf, !path.isEmpty {
            let bytes = try POSIX.readFile(path)
            dns = DNS(resolvConf: String(decoding: bytes, as: UTF8.self))
        }
        var requestedBySet: [Int: IPAddress] = [:]
        for address in requested {
            guard let index = rangeSets.firstIndex(where: { $0.contains { $0.contains(address) } }) else {
                throw IPAMError(.requestedAddressUnavailable, "requested address \(address) is in no configured range")
            }
            requestedBySet[index] = address
        }
        let addresses = try store.withLock {
            var reserved: [IPAddress] = []
            do {
                var result: [IPAMAllocation.Address] = []
                for (index, ranges) in rangeSets.enumerated() {
                    let address = try allocate(
                        in: ranges, index: index, requested: requestedBySet[index], containerID: containerID,
                        interfaceName: interfaceName)
                    reserved.append(address.address.address)
                    result.append(address)
                }
                return result
            } catch {
                for address in reserved { store.release(address) }
                throw error
            }
        }
        return IPAMAllocation(addresses: addresses, routes: configuration.routes ?? [], dns: dns)
    }

    private func allocate(
        in ranges: [CanonicalRange], index: Int, requested: IPAddress?, containerID: String, interfaceName: String
    ) throws -> IPAMAllocation.Address {
        func result(_ address: IPAddress) -> IPAMAllocation.Address {
            let range = ranges.first { $0.contains(address) }!
            return IPAMAllocation.Address(
                address: try! IPNetwork(address: address, prefixLength: range.subnet.prefixLength), gateway: range.gateway)
        }
        if let requested {
            let range = ranges.first { $0.contains(requested) }!
            if requested == range.gateway {
                throw IPAMError(.requestedAddressUnavailable, "requested ip \(requested) is subnet's gateway")
            }
            guard try store.reserve(requested, containerID: containerID, interfaceName: interfaceName, rangeSetIndex: index) else {
                throw IPAMError(.requestedAddressUnavailable, "requested IP address \(requested) is not available")
            }
            return result(requested)
        }
        for held in try store.addresses(containerID: containerID, interfaceName: interfaceName)
        where ranges.contains(where: { $0.contains(held) }) {
            throw IPAMError(.duplicateAllocation, "\(held) has been allocated to \(containerID), duplicate allocation is not allowed")
        }
        var candidates = RangeSetIterator(ranges: ranges, lastReserved: store.lastReserved(rangeSetIndex: index))
        while let candidate = candidates.next() {
            if try store.reserve(candidate.address, containerID: containerID, interfaceName: interfaceName, rangeSetIndex: index) {
                return result(candidate.address)
            }
        }
        let names = ranges.map { "\($0.start)-\($0.end)" }.joined(separator: ",")
        throw IPAMError(.exhausted, "no IP addresses available in range set: \(names)")
    }

    /// Releases every address of the attachment; a missing reservation is not an error (DEL).
    @discardableResult
    public func release(containerID: String, interfaceName: String) throws -> [IPAddress] {
        try store.withLock { try store.release(containerID: containerID, interfaceName: interfaceName) }
    }

    /// The addresses the attachment holds; CHECK fails when a range set has none.
    public func check(containerID: String, interfaceName: String) throws -> [IPAddress] {
        let held = try store.withLock { try store.addresses(containerID: containerID, interfaceName: interfaceName) }
        for ranges in rangeSets where !held.contains(where: { address in ranges.contains { $0.contains(address) } }) {
            throw IPAMError(.notAllocated, "\(containerID)/\(interfaceName) holds no address in \(ranges.map(\.subnet))")
        }
        return held
    }

    /// Frees every reservation whose attachment is not in `valid` (a GC call's
    /// `cni.dev/valid-attachments`), plus leftovers of processes killed mid-ADD.
    /// With `onlyConfiguredRanges`, addresses outside this configuration's ranges are left
    /// alone (several nodes sharing one dataDir, each with its own subnet).
    /// Returns the addresses freed.
    @discardableResult
    public func garbageCollect(validAttachments valid: [Attachment], onlyConfiguredRanges: Bool = false) throws -> [IPAddress] {
        let validSet = Set(valid)
        let validIDs = Set(valid.map(\.containerID))
        return try store.withLock {
            try store.removeLeftovers()
            var freed: [IPAddress] = []
            for reservation in try store.reservations() {
                if onlyConfiguredRanges && !rangeSets.contains(where: { $0.contains { $0.contains(reservation.address) } }) {
                    continue
                }
                let keep = if let name = reservation.interfaceName {
                    validSet.contains(Attachment(containerID: reservation.containerID, interfaceName: name))
                } else {
                    validIDs.contains(reservation.containerID)
                }
                if !keep {
                    store.release(reservation.address)
                    freed.append(reservation.address)
                }
            }
            return freed
        }
    }
}
