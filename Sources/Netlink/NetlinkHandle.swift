import Namespaces
import NetPrimitives
import Synchronization

/// A connection to the kernel's routing netlink (`ip`, `bridge`) of one network namespace.
///
/// ```swift
/// let namespace = try NetworkNamespace.open(name: "node1")
/// let handle = try NetlinkHandle(namespace: namespace)
/// try handle.setLinkUp("eth0")                         // ip -n node1 link set eth0 up
/// ```
///
/// The socket is opened on a dedicated thread that enters the namespace
/// (`NetworkNamespace.runBlocking`) and leaves it again (or directly on the calling thread
/// when that thread is already in the namespace); a netlink socket stays bound to
/// the namespace it was created in, so the handle then works from any thread or task without
/// changing any thread's namespace.
///
/// Thread safety: every request takes the handle's lock for its whole exchange (send, then
/// receive until the acknowledgement), so requests from concurrent tasks never interleave on
/// the socket. Operations are short synchronous system calls; they block the calling thread
/// for the duration of one kernel round trip.
public final class NetlinkHandle: @unchecked Sendable {
    // Unchecked: `socket` is a non-Sendable class, but it is only touched inside
    // `lock.withLock`, which serialises all access; the namespace is itself Sendable.

    /// The namespace this handle programs.
    public let namespace: NetworkNamespace
    private let socket: NetlinkSocket
    private let lock = Mutex<Void>(())

    /// Opens a handle for `namespace` (its socket is created inside the namespace).
    /// Throws ``NetlinkError`` with code ``NetlinkError/Code/socketFailed``.
    public init(namespace: NetworkNamespace) throws {
        self.namespace = namespace
        do {
            // Already in that namespace (a plugin's own node namespace): no thread is needed.
            socket = try namespace.isCallingThreadNamespace
                ? NetlinkSocket() : namespace.runBlocking { try NetlinkSocket() }
        } catch let error as NetlinkError {
            throw error
        } catch {
            throw NetlinkError(.socketFailed, operation: "open netlink socket in \(namespace)",
                               kernelMessage: "\(error)")
        }
    }

    /// Runs `body` with exclusive use of the socket.
    func withSocket<T>(_ body: (NetlinkSocket) throws -> T) throws -> T {
        try lock.withLock { _ in try body(socket) }
    }

    func perform(_ request: NetlinkRequest) throws {
        _ = try withSocket { try $0.perform(request) }
    }

    func dump(_ request: NetlinkRequest) throws -> [NetlinkReply] {
        try withSocket { try $0.dump(request) }
    }
}

extension NetworkNamespace {
    /// Whether the calling thread is in this namespace (same inode), so work meant for the
    /// namespace can run here without a dedicated thread.
    var isCallingThreadNamespace: Bool { NetworkNamespace.currentInode() == inode }
}
