#if canImport(Glibc)
import Glibc
#endif
import NIOPosix
import NetPrimitives

/// Where the speaker creates its sockets.
///
/// A socket belongs to the network namespace of the thread that created it. The speaker
/// creates every listening and connecting socket inside ``run``, so a caller that wants the
/// speaker to live in another namespace passes a context that runs the closure on a thread
/// inside that namespace, for example with the Namespaces module:
///
/// ```swift
/// let context = SocketContext { work in try await namespace.run(work) }
/// ```
///
/// The default runs the closure on NIO's blocking thread pool, in the process's namespace.
public struct SocketContext: Sendable {
    /// Runs a synchronous, possibly blocking closure that creates a socket and returns its
    /// descriptor.
    public var run: @Sendable (_ work: @escaping @Sendable () throws -> Int32) async throws -> Int32

    public init(run: @escaping @Sendable (_ work: @escaping @Sendable () throws -> Int32) async throws -> Int32) {
        self.run = run
    }

    /// The process's own network namespace, sockets created on NIO's thread pool.
    public static let processNamespace = SocketContext { work in
        try await NIOThreadPool.singleton.runIfActive { try work() }
    }
}

/// The socket calls the speaker makes (socket, setsockopt TCP_MD5SIG, bind, listen, connect).
enum BGPSocket {
    static func socketAddress(_ address: IPAddress, port: Int) -> (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        switch address {
        case .v4(let v4):
            withUnsafeMutableBytes(of: &storage) { raw in
                let pointer = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                pointer.pointee.sin_family = sa_family_t(AF_INET)
                pointer.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                pointer.pointee.sin_addr.s_addr = v4.value.bigEndian
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in>.size))
        case .v6(let v6):
            withUnsafeMutableBytes(of: &storage) { raw in
                let pointer = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                pointer.pointee.sin6_family = sa_family_t(AF_INET6)
                pointer.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
                withUnsafeMutableBytes(of: &pointer.pointee.sin6_addr) { bytes in
                    for (index, byte) in v6.bytes.enumerated() { bytes[index] = byte }
                }
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size))
        }
    }

    /// A large receive buffer: a full table arrives in a burst, and a small window makes the
    /// sender wait for window updates.
    static func enlargeReceiveBuffer(_ descriptor: Int32) {
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Sets (or with an empty password removes) the RFC 2385 key for `peer` on `descriptor`.
    static func setPassword(_ password: String, peer: IPAddress, on descriptor: Int32) throws {
        let key = Array(password.utf8)
        guard key.count <= Int(TCP_MD5SIG_MAXKEYLEN) else {
            throw BGPError(.invalidConfiguration, "TCP MD5 password longer than \(TCP_MD5SIG_MAXKEYLEN) bytes")
        }
        var signature = tcp_md5sig()
        signature.tcpm_addr = socketAddress(peer, port: 0).0
        signature.tcpm_keylen = UInt16(key.count)
        withUnsafeMutableBytes(of: &signature.tcpm_key) { bytes in
            for (index, byte) in key.enumerated() { bytes[index] = byte }
        }
        let result = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_MD5SIG, &signature, socklen_t(MemoryLayout<tcp_md5sig>.size))
        guard result == 0 else {
            throw BGPError(.socketFailed, "setsockopt TCP_MD5SIG for \(peer)", errno: errno)
        }
    }

    /// A listening TCP socket bound to `address`:`port`, with MD5 keys for the given peers.
    static func listen(address: IPAddress, port: Int, passwords: [(IPAddress, String)]) throws -> Int32 {
        let family = address.family == .v4 ? AF_INET : AF_INET6
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw BGPError(.socketFailed, "socket", errno: errno) }
        do {
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            enlargeReceiveBuffer(descriptor)
            for (peer, password) in passwords { try setPassword(password, peer: peer, on: descriptor) }
            var (storage, length) = socketAddress(address, port: port)
            let bound = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            guard bound == 0 else { throw BGPError(.socketFailed, "bind \(address) port \(port)", errno: errno) }
            guard Glibc.listen(descriptor, 64) == 0 else { throw BGPError(.socketFailed, "listen", errno: errno) }
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// A TCP connection to `peer`:`port`, optionally from `local`, with an MD5 key; gives up
    /// after `timeoutMilliseconds`.
    static func connect(to peer: IPAddress, port: Int, from local: IPAddress?, password: String?, timeoutMilliseconds: Int) throws -> Int32 {
        let family = peer.family == .v4 ? AF_INET : AF_INET6
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw BGPError(.socketFailed, "socket", errno: errno) }
        do {
            if let password, !password.isEmpty { try setPassword(password, peer: peer, on: descriptor) }
            enlargeReceiveBuffer(descriptor)
            if let local {
                var (storage, length) = socketAddress(local, port: 0)
                let bound = withUnsafePointer(to: &storage) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
                }
                guard bound == 0 else { throw BGPError(.socketFailed, "bind \(local)", errno: errno) }
            }
            var (storage, length) = socketAddress(peer, port: port)
            let started = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, length) }
            }
            if started != 0 {
                guard errno == EINPROGRESS else { throw BGPError(.socketFailed, "connect \(peer)", errno: errno) }
                var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let ready = poll(&poller, 1, Int32(timeoutMilliseconds))
                guard ready == 1 else { throw BGPError(.socketFailed, "connect \(peer) timed out", errno: ETIMEDOUT) }
                var failure: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &size)
                guard failure == 0 else { throw BGPError(.socketFailed, "connect \(peer)", errno: failure) }
            }
            return descriptor
        } catch {
            close(descriptor)
            throw error
        }
    }
}
