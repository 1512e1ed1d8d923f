#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket made in the calling thread's network namespace: a test binds a
/// server's address inside a node or fabric namespace (inside `NetworkNamespace.run`), then
/// hands the descriptor to a server running on any thread.
public enum ListeningSocket {
    /// A TCP socket bound to `address:port` (IPv4 or IPv6 literal) with `SO_REUSEADDR`, listening
    /// with `backlog`. The caller owns the descriptor.
    public static func tcp(address: String, port: UInt16, backlog: CInt = 64) throws -> CInt {
        let family = address.contains(":") ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ListeningSocketError(address: address, port: port, step: "socket", errno: errno) }
        var one: CInt = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<CInt>.size))
        let bound: CInt
        if family == AF_INET6 {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &socketAddress.sin6_addr) == 1 else {
                close(descriptor)
                throw ListeningSocketError(address: address, port: port, step: "parse", errno: EINVAL)
            }
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
                close(descriptor)
                throw ListeningSocketError(address: address, port: port, step: "parse", errno: EINVAL)
            }
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard bound == 0 else {
            let failure = errno
            close(descriptor)
            throw ListeningSocketError(address: address, port: port, step: "bind", errno: failure)
        }
        guard listen(descriptor, backlog) == 0 else {
            let failure = errno
            close(descriptor)
            throw ListeningSocketError(address: address, port: port, step: "listen", errno: failure)
        }
        return descriptor
    }
}

/// Why ``ListeningSocket/tcp(address:port:backlog:)`` failed.
public struct ListeningSocketError: Error, CustomStringConvertible {
    public var address: String
    public var port: UInt16
    public var step: String
    public var errno: CInt
    public var description: String { "\(step) \(address):\(port): errno \(errno)" }
}
