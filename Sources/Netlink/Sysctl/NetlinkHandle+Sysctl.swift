#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import NetPrimitives

extension NetlinkHandle {
    /// Reads a network sysctl of this handle's namespace (`ip netns exec NS sysctl -n KEY`).
    ///
    /// `key` is dotted (`net.ipv4.ip_forward`) or a path below /proc/sys
    /// (`net/ipv4/conf/eth0.100/rp_filter`, for device names containing dots). Only `net.*`
    /// keys are accepted: they are the per-namespace ones. The file is opened by a dedicated
    /// thread that entered the namespace, because /proc/sys/net shows the namespace of the
    /// thread that opens it; the caller's thread reads only when it is in that namespace.
    public func sysctl(_ key: String) throws -> String {
        let path = try Self.sysctlPath(key)
        return try inNamespace(operation: "sysctl \(key)") { () throws(NetlinkError) -> String in
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw NetlinkError(.sysctlFailed, operation: "sysctl \(key)", errno: errno) }
            defer { close(descriptor) }
            var bytes = [UInt8](repeating: 0, count: 4096)
            let count = read(descriptor, &bytes, bytes.count)
            guard count >= 0 else { throw NetlinkError(.sysctlFailed, operation: "sysctl \(key)", errno: errno) }
            var text = String(decoding: bytes[0..<count], as: UTF8.self)
            while text.last == "\n" { text.removeLast() }
            return text
        }
    }

    /// Writes a network sysctl of this handle's namespace (`ip netns exec NS sysctl -w KEY=VALUE`),
    /// from a thread inside the namespace (see ``sysctl(_:)``).
    public func setSysctl(_ key: String, to value: String) throws {
        let path = try Self.sysctlPath(key)
        let operation = "sysctl -w \(key)=\(value)"
        try inNamespace(operation: operation) { () throws(NetlinkError) in
            let descriptor = open(path, O_WRONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw NetlinkError(.sysctlFailed, operation: operation, errno: errno) }
            defer { close(descriptor) }
            let bytes = Array(value.utf8)
            guard write(descriptor, bytes, bytes.count) == bytes.count else {
                throw NetlinkError(.sysctlFailed, operation: operation, errno: errno)
            }
        }
    }

    /// `sysctl -w net.ipv4.ip_forward=1` (or `net.ipv6.conf.all.forwarding=1`).
    public func setIPForwarding(_ enabled: Bool, family: IPAddress.Family = .v4) throws {
        try setSysctl(family == .v4 ? "net/ipv4/ip_forward" : "net/ipv6/conf/all/forwarding", to: enabled ? "1" : "0")
    }

    /// `sysctl -w net.ipv4.conf.DEV.proxy_arp=1`.
    public func setProxyARP(_ enabled: Bool, device: InterfaceName) throws {
        try setSysctl("net/ipv4/conf/\(device.value)/proxy_arp", to: enabled ? "1" : "0")
    }

    /// `sysctl -w net.ipv4.conf.DEV.rp_filter=MODE` (0 off, 1 strict, 2 loose).
    public func setReversePathFilter(_ mode: Int, device: InterfaceName) throws {
        try setSysctl("net/ipv4/conf/\(device.value)/rp_filter", to: String(mode))
    }

    /// `sysctl -w net.ipv6.conf.DEV.accept_dad=N`.
    public func setAcceptDAD(_ value: Int, device: InterfaceName) throws {
        try setSysctl("net/ipv6/conf/\(device.value)/accept_dad", to: String(value))
    }

    private func inNamespace<T>(operation: String, _ body: () throws(NetlinkError) -> T) throws -> T {
        do {
            // /proc/sys/net shows the namespace of the thread that opens it: the calling
            // thread will do when it is in this handle's namespace already.
            if namespace.isCallingThreadNamespace { return try body() }
            return try namespace.runBlocking { try body() }
        } catch let error as NetlinkError {
            throw error
        } catch {
            throw NetlinkError(.sysctlFailed, operation: operation, kernelMessage: "\(error)")
        }
    }

    static func sysctlPath(_ key: String) throws -> String {
        let relative = key.contains("/") ? key : key.replacingDots()
        let components = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard components.first == "net", components.count >= 2,
            !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else {
            throw NetlinkError(.invalidArgument, operation: "sysctl \(key) (only net.* keys, no empty, '.' or '..' parts)")
        }
        return "/proc/sys/" + relative
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}
