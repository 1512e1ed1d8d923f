import CNISpec
import NetPrimitives

/// Pod address reservations in the reference host-local plugin's on-disk format, so a node
/// can move between the reference flannel+bridge+host-local chain and swift-flannel:
/// `DATADIR/NETWORK/ADDRESS` holds `CONTAINERID\r\nIFNAME`, `last_reserved_ip.0` the last
/// address handed out, and `lock` is flocked around every operation (host-local locks the same
/// file). Addresses go round-robin from the one after the last reserved, skipping the gateway.
///
/// This is the plugin's own small allocator until the IPAM library (host-local allocator)
/// is on main; then it becomes a thin wrapper over `HostLocalAllocator`.
struct PodAddressStore: Sendable {
    let directory: String
    let subnet: IPNetwork
    let gateway: IPAddress

    init(dataDirectory: String, network: String, subnet: IPNetwork, gateway: IPAddress) throws(CNIError) {
        directory = dataDirectory + "/" + network
        self.subnet = subnet.network
        self.gateway = gateway
        do { try FileAccess.makeDirectories(directory) } catch {
            throw CNIError(.ioFailure, "failed to create the address store: \(error)")
        }
    }

    private func locked<T>(_ body: () throws -> T) throws(CNIError) -> T {
        do {
            return try FileAccess.withLock(directory + "/lock", body)
        } catch let error as CNIError {
            throw error
        } catch {
            throw CNIError(.ioFailure, "address store \(directory): \(error)")
        }
    }

    private static func owner(_ containerID: String, _ interfaceName: String) -> [UInt8] {
        Array("\(containerID)\r\n\(interfaceName)".utf8)
    }

    /// Reserves the next free address for the attachment; the same attachment twice is an error.
    func allocate(containerID: String, interfaceName: String) throws(CNIError) -> IPAddress {
        try locked {
            if let held = try reservations().first(where: { $0.containerID == containerID && $0.interfaceName == interfaceName }) {
                throw CNIError(.internal, "\(held.address) has been allocated to \(containerID), duplicate allocation is not allowed")
            }
            let first = subnet.address.advanced(by: 1)!
            var last = subnet.lastAddress.advanced(by: -1)!  // IPv4: skip broadcast
            if last < first { last = first }
            let count = Int(last.numericValue - first.numericValue) + 1
            var start = first
            if let text = try? FileAccess.read(directory + "/last_reserved_ip.0"),
                let previous = IPAddress(String(decoding: text, as: UTF8.self)), first <= previous, previous < last
            {
                start = previous.advanced(by: 1)!
            }
            var candidate = start
            for _ in 0..<count {
                if candidate != gateway,
                    try FileAccess.createExclusively(directory + "/\(candidate)", contents: Self.owner(containerID, interfaceName))
                {
                    try FileAccess.overwrite(directory + "/last_reserved_ip.0", contents: Array("\(candidate)".utf8))
                    return candidate
                }
                candidate = candidate == last ? first : candidate.advanced(by: 1)!
            }
            throw CNIError(.internal, "no IP addresses available in range set: \(first)-\(last)")
        }
    }

    struct Reservation: Hashable {
        var address: IPAddress
        var containerID: String
        var interfaceName: String?
    }

    /// Every reservation on disk (caller holds the lock).
    private func reservations() throws -> [Reservation] {
        try FileAccess.entries(directory).compactMap { name -> Reservation? in
            guard let address = IPAddress(name), let bytes = try? FileAccess.read(directory + "/" + name) else { return nil }
            let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
            let containerID = String(lines.first ?? "").trimmingWhitespace
            let interfaceName = lines.count > 1 ? String(lines[1]).trimmingWhitespace : nil
            return Reservation(address: address, containerID: containerID, interfaceName: interfaceName)
        }
    }

    /// Frees the attachment's addresses; nothing held is fine. Returns what was freed.
    @discardableResult
    func release(containerID: String, interfaceName: String) throws(CNIError) -> [IPAddress] {
        try locked {
            try reservations().filter { $0.containerID == containerID && ($0.interfaceName ?? interfaceName) == interfaceName }
                .map { reservation in
                    FileAccess.remove(directory + "/\(reservation.address)")
                    return reservation.address
                }
        }
    }

    /// The attachment's addresses.
    func addresses(containerID: String, interfaceName: String) throws(CNIError) -> [IPAddress] {
        try locked {
            try reservations().filter { $0.containerID == containerID && ($0.interfaceName ?? interfaceName) == interfaceName }
                .map(\.address)
        }
    }

    /// Frees every reservation whose attachment is not in `valid`; returns the freed ones.
    func garbageCollect(valid: [NetworkAttachment]) throws(CNIError) -> [Reservation] {
        let validSet = Set(valid.map { "\($0.containerID)\u{0}\($0.interfaceName)" })
        let validIDs = Set(valid.map(\.containerID))
        return try locked {
            try reservations().filter { reservation in
                let keep = if let name = reservation.interfaceName {
                    validSet.contains("\(reservation.containerID)\u{0}\(name)")
                } else {
                    validIDs.contains(reservation.containerID)
                }
                if !keep { FileAccess.remove(directory + "/\(reservation.address)") }
                return !keep
            }
        }
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
