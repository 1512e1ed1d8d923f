import NetPrimitives
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// host-local's on-disk format, byte for byte, so a node can switch between `host-local` and
/// `swift-ipam` without losing reservations:
///
/// - `DATADIR/NETWORK/` holds one file per reserved address, named by the address
///   (`10.244.1.5`, `fd00::5`), containing `CONTAINERID\r\nIFNAME` (older files: only the ID);
/// - `DATADIR/NETWORK/last_reserved_ip.N` holds the last address reserved in range set N;
/// - `DATADIR/NETWORK/lock` is `flock`ed exclusively around every operation (host-local locks
///   the same file, so both plugins exclude each other).
///
/// A reservation appears atomically with its content (written to a temporary file, then
/// `link`ed to the address name, which fails if taken), so a process killed mid-ADD leaves at
/// most a `.swiftcni-tmp-PID-…` file, which `HostLocalAllocator.garbageCollect(validAttachments:onlyConfiguredRanges:)` removes.
public struct HostLocalDiskStore: Sendable {
    public let directory: String
    static let lastReservedPrefix = "last_reserved_ip."
    static let temporaryPrefix = ".swiftcni-tmp-"

    /// Opens (creating) `dataDirectory/network`. The network name must be one path component.
    public init(network: String, dataDirectory: String?) throws {
        try Identifier.validateNetworkName(network)
        let base = (dataDirectory?.isEmpty ?? true) ? HostLocalConfiguration.defaultDataDirectory : dataDirectory!
        directory = base + "/" + network
        try POSIX.makeDirectories(directory)
    }

    /// Runs `body` holding the network's lock file.
    public func withLock<T>(_ body: () throws -> T) throws -> T {
        try POSIX.withLock(directory + "/lock", body)
    }

    private func path(_ name: String) -> String { directory + "/" + name }

    /// Reserves `address` for the container; false when it is taken.
    public func reserve(_ address: IPAddress, containerID: String, interfaceName: String, rangeSetIndex: Int) throws -> Bool {
        let target = path(address.description)
        let temporary = path("\(Self.temporaryPrefix)\(getpid())-\(address)")
        let content = Array((containerID.trimmingSpaces() + "\r\n" + interfaceName).utf8)
        try POSIX.writeFile(temporary, content, exclusive: false)
        defer { unlink(temporary) }
        if link(temporary, target) != 0 {
            if errno == EEXIST { return false }
            throw IPAMError(.ioFailed, "link \(target)", errno: errno)
        }
        try POSIX.writeFile(path(Self.lastReservedPrefix + String(rangeSetIndex)), Array(address.description.utf8), exclusive: false)
        return true
    }

    public func isReserved(_ address: IPAddress) -> Bool {
        access(path(address.description), F_OK) == 0
    }

    public func lastReserved(rangeSetIndex: Int) -> IPAddress? {
        guard let bytes = try? POSIX.readFile(path(Self.lastReservedPrefix + String(rangeSetIndex))) else { return nil }
        return IPAddress(String(decoding: bytes, as: UTF8.self).trimmingSpaces())
    }

    /// One reservation file.
    public struct Reservation: Hashable, Sendable {
        public var address: IPAddress
        public var containerID: String
        /// nil for files written by old host-local versions (ID only).
        public var interfaceName: String?
    }

    /// Every reservation file of the network.
    public func reservations() throws -> [Reservation] {
        try POSIX.listDirectory(directory).compactMap { name in
            guard let address = IPAddress(name) else { return nil }
            guard let bytes = try? POSIX.readFile(path(name)) else { return nil }
            let text = String(decoding: bytes, as: UTF8.self).trimmingSpaces()
            let parts = text.split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false)
            let interfaceName = parts.count == 2 ? String(parts[1]) : nil
            return Reservation(address: address, containerID: String(parts.first ?? ""), interfaceName: interfaceName)
        }
    }

    /// The addresses held by the attachment (ID + interface, or ID only for old files).
    public func addresses(containerID: String, interfaceName: String) throws -> [IPAddress] {
        try reservations().filter { $0.matches(containerID, interfaceName) }.map(\.address)
    }

    /// Releases what the attachment holds: files for ID+interface, or, when there are none,
    /// files holding only the ID (host-local's compatibility rule). Returns the addresses freed.
    @discardableResult
    public func release(containerID: String, interfaceName: String) throws -> [IPAddress] {
        let all = try reservations()
        var matching = all.filter { $0.containerID == containerID.trimmingSpaces() && $0.interfaceName == interfaceName }
        if matching.isEmpty {
            matching = all.filter { $0.containerID == containerID.trimmingSpaces() && $0.interfaceName == nil }
        }
        for reservation in matching { unlink(path(reservation.address.description)) }
        return matching.map(\.address)
    }

    public func release(_ address: IPAddress) {
        unlink(path(address.description))
    }

    /// Removes temporary files left by processes that no longer run, and empty reservation
    /// files (a crash after `open(O_EXCL)` in other implementations).
    func removeLeftovers() throws {
        for name in try POSIX.listDirectory(directory) {
            if name.hasPrefix(Self.temporaryPrefix) {
                let pidText = name.dropFirst(Self.temporaryPrefix.count).prefix { $0 != "-" }
                if let pid = Int32(pidText), kill(pid, 0) == 0 || errno == EPERM { continue }
                unlink(path(name))
            } else if IPAddress(name) != nil, let bytes = try? POSIX.readFile(path(name)),
                bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d })
            {
                unlink(path(name))
            }
        }
    }
}

extension HostLocalDiskStore.Reservation {
    func matches(_ containerID: String, _ interfaceName: String) -> Bool {
        self.containerID == containerID.trimmingSpaces() && (self.interfaceName == nil || self.interfaceName == interfaceName)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
