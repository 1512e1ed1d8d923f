#if canImport(Glibc)
import Glibc
#endif

extension NetlinkError {
    /// The object already exists (EEXIST): an exclusive create met an existing one.
    public var isAlreadyExists: Bool { errno == EEXIST }
    /// The object (device, route, address, entry) does not exist.
    public var isNotFound: Bool {
        code == .notFound || errno == ENODEV || errno == ESRCH || errno == ENOENT || errno == EADDRNOTAVAIL
    }
}
