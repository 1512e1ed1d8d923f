#if canImport(Glibc)
import Glibc
#endif
internal import CLinuxShim
import ChildProcess

/// A Linux network namespace, held open by a file descriptor for the life of this object.
///
/// ```swift
/// let node = try NetworkNamespace.create(name: "demo-node0")   // ip netns add demo-node0
/// defer { try? NetworkNamespace.delete(name: "demo-node0") }   // ip netns del demo-node0
/// let links = try await node.run { try String(contentsOfFile: "/proc/net/dev") }
/// ```
///
/// Code never changes the namespace of the calling thread: ``run(_:)`` and
/// ``runBlocking(_:)`` execute a synchronous closure on a fresh OS thread that enters the
/// namespace and exits afterwards. Sockets opened inside such a closure stay bound to the
/// namespace and can be used from any thread afterwards.
public final class NetworkNamespace: Sendable, CustomStringConvertible {
    /// Where named namespaces are mounted, as `ip netns` does.
    public static let namedDirectory = "/var/run/netns"

    /// The name of the short-lived threads that enter namespaces (`/proc/self/task/TID/comm`).
    public static let dedicatedThreadName = DedicatedThread.threadName

    /// The path the namespace was opened from.
    public let path: String
    /// The name under ``namedDirectory``, when opened or created by name.
    public let name: String?
    /// The open descriptor (O_RDONLY | O_CLOEXEC); valid while this object lives. Netlink uses
    /// it to place links into the namespace (`ip link set DEV netns NAME`).
    public let descriptor: Int32
    /// The namespace's inode number: two handles name the same namespace when these match.
    public let inode: UInt64

    private init(path: String, name: String?) throws(NamespaceError) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NamespaceError(.openFailed, namespace: name ?? path, errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let saved = errno
            Glibc.close(fd)
            throw NamespaceError(.openFailed, namespace: name ?? path, errno: saved)
        }
        self.path = path
        self.name = name
        self.descriptor = fd
        self.inode = UInt64(info.st_ino)
    }

    deinit { Glibc.close(descriptor) }

    public var description: String { name ?? path }

    /// Opens the namespace named `name` (`/var/run/netns/NAME`).
    public static func open(name: String) throws(NamespaceError) -> NetworkNamespace {
        try validate(name)
        return try NetworkNamespace(path: "\(namedDirectory)/\(name)", name: name)
    }

    /// Opens a namespace by path (`/var/run/netns/x`, `/proc/PID/ns/net`, a CNI_NETNS value).
    public static func open(path: String) throws(NamespaceError) -> NetworkNamespace {
        try NetworkNamespace(path: path, name: nil)
    }

    /// The namespace of the calling thread.
    public static func current() throws(NamespaceError) -> NetworkNamespace {
        try NetworkNamespace(path: "/proc/thread-self/ns/net", name: nil)
    }

    /// The inode of the calling thread's namespace (cheap: no descriptor kept).
    public static func currentInode() -> UInt64? {
        var info = stat()
        return stat("/proc/thread-self/ns/net", &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Whether a named namespace exists.
    public static func exists(name: String) -> Bool {
        (try? validate(name)) != nil && access("\(namedDirectory)/\(name)", F_OK) == 0
    }

    /// The names under ``namedDirectory`` (`ip netns list`), sorted.
    public static func list() -> [String] {
        guard let directory = opendir(namedDirectory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Creates a new named namespace, as `ip netns add NAME` does: a fresh namespace
    /// bind-mounted at `/var/run/netns/NAME`. Its loopback device is set up when
    /// `loopbackUp` is true (`ip -n NAME link set lo up`). Throws ``NamespaceError/Code/alreadyExists``
    /// when the name is taken. Needs root (CAP_SYS_ADMIN).
    public static func create(name: String, loopbackUp: Bool = true) throws(NamespaceError) -> NetworkNamespace {
        try validate(name)
        let target = "\(namedDirectory)/\(name)"
        try prepareNamedDirectory()
        let fd = Glibc.open(target, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)
        guard fd >= 0 else {
            throw NamespaceError(errno == EEXIST ? .alreadyExists : .createFailed, namespace: name, errno: errno)
        }
        Glibc.close(fd)
        do {
            try DedicatedThread.runBlocking(namespaceFD: -1, name: name) { () throws in
                guard cnishim_unshare_net() == 0 else {
                    throw NamespaceError(.createFailed, namespace: name, errno: errno)
                }
                let own = "/proc/self/task/\(cnishim_gettid())/ns/net"
                guard cnishim_bind_mount(own, target) == 0 else {
                    throw NamespaceError(.createFailed, namespace: name, errno: errno)
                }
                if loopbackUp && cnishim_loopback_up() != 0 {
                    throw NamespaceError(.createFailed, namespace: name, errno: errno)
                }
            }
        } catch {
            _ = cnishim_umount_detach(target)
            unlink(target)
            throw error as? NamespaceError ?? NamespaceError(.createFailed, namespace: name)
        }
        return try NetworkNamespace(path: target, name: name)
    }

    /// Deletes a named namespace (`ip netns del NAME`): unmounts and removes the name. The
    /// namespace itself goes when its last user (process, socket, open descriptor) is gone.
    /// Deleting a name that does not exist is not an error.
    public static func delete(name: String) throws(NamespaceError) {
        try validate(name)
        let target = "\(namedDirectory)/\(name)"
        guard access(target, F_OK) == 0 else { return }
        if cnishim_umount_detach(target) != 0 && errno != EINVAL && errno != ENOENT {
            throw NamespaceError(.deleteFailed, namespace: name, errno: errno)
        }
        if unlink(target) != 0 && errno != ENOENT {
            throw NamespaceError(.deleteFailed, namespace: name, errno: errno)
        }
    }

    /// Runs `body` on a dedicated OS thread inside this namespace. The calling task suspends
    /// without blocking a pool thread; the thread exits afterwards.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await DedicatedThread.run(namespaceFD: descriptor, name: description, body)
    }

    /// Runs `body` on a dedicated OS thread inside this namespace and blocks the caller until
    /// it returns. For synchronous code (a plugin's ADD path, a thread that is not in the pool).
    public func runBlocking<T>(_ body: () throws -> T) throws -> T {
        try DedicatedThread.runBlocking(namespaceFD: descriptor, name: description, body)
    }

    /// Runs a program inside this namespace to completion (`ip netns exec NAME PROGRAM`):
    /// it is spawned from a thread that entered the namespace.
    public func runProcess(
        _ executable: String, arguments: [String] = [], environment: [String: String]? = nil,
        standardInput: [UInt8] = [], timeoutMilliseconds: Int? = nil
    ) throws -> ChildProcess.Output {
        try runBlocking {
            try ChildProcess.run(
                executable, arguments: arguments, environment: environment,
                standardInput: standardInput, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// Starts a long-running program (an agent) inside this namespace and returns at once.
    public func launchProcess(
        _ executable: String, arguments: [String] = [], environment: [String: String]? = nil,
        standardOutput: ChildProcess.Redirect = .null, standardError: ChildProcess.Redirect = .null
    ) throws -> RunningProcess {
        try runBlocking {
            try ChildProcess.launch(
                executable, arguments: arguments, environment: environment,
                standardOutput: standardOutput, standardError: standardError)
        }
    }

    /// Names may not be empty, "." or "..", contain "/", or exceed 255 bytes.
    static func validate(_ name: String) throws(NamespaceError) {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), name.utf8.count <= 255 else {
            throw NamespaceError(.invalidName, namespace: name)
        }
    }

    /// Makes /var/run/netns exist and be a shared mount point, as iproute2 does, so that
    /// mounts made in it are seen by other mount namespaces.
    private static func prepareNamedDirectory() throws(NamespaceError) {
        mkdir("/var/run", 0o755)
        mkdir(namedDirectory, 0o755)
        if cnishim_make_shared(namedDirectory) == 0 { return }
        guard errno == EINVAL else { throw NamespaceError(.createFailed, namespace: namedDirectory, errno: errno) }
        guard cnishim_bind_mount(namedDirectory, namedDirectory) == 0,
            cnishim_make_shared(namedDirectory) == 0
        else { throw NamespaceError(.createFailed, namespace: namedDirectory, errno: errno) }
    }
}
