#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// What identifies one version of a file: a rotated token file (written anew, or replaced by
/// a rename as the kubelet does with its `..data` symlink) changes at least one of these.
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int64(info.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        #endif
    }
}

/// A value behind a lock, for the few shared mutable caches of this module.
final class LockedValue<Value: Sendable>: Sendable {
    private let lock: NIOLockedValueBox<Value>
    init(_ value: Value) { lock = NIOLockedValueBox(value) }
    var value: Value {
        get { lock.withLockedValue { $0 } }
        set { lock.withLockedValue { $0 = newValue } }
    }
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLockedValue(body)
    }
}
