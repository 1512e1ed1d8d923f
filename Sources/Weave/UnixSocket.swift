#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemSupport

/// The unix stream sockets of the agent protocol (`socket(AF_UNIX, SOCK_STREAM)`).
package enum UnixSocket {
    /// `sockaddr_un` for `path`, or an error when the path does not fit.
    package static func address(_ path: String) throws(WeaveError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw WeaveError(.invalidConfiguration, "socket path '\(path)' is empty or longer than 107 bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return address
    }

    package static func make() throws(WeaveError) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw WeaveError(.systemCall, "socket(AF_UNIX): \(String(cString: strerror(errno)))") }
        return descriptor
    }

    /// A connected socket to `path`; `.agentUnavailable` when nothing listens there.
    package static func connect(_ path: String) throws(WeaveError) -> Int32 {
        var address = try address(path)
        let descriptor = try make()
        let result = SystemCall.retryingInterrupts {
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw WeaveError(.agentUnavailable, "cannot reach swift-weaved at \(path): \(String(cString: strerror(code)))")
        }
        return descriptor
    }

    /// A listening socket at `path`. A socket file nobody listens on (left by a killed agent) is
    /// replaced; a live one is an error.
    package static func listen(_ path: String) throws(WeaveError) -> Int32 {
        var address = try address(path)
        if let probe = try? connect(path) {
            close(probe)
            throw WeaveError(.invalidConfiguration, "another agent listens on \(path)")
        }
        unlink(path)
        let descriptor = try make()
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(descriptor, 64) == 0 else {
            let code = errno
            close(descriptor)
            throw WeaveError(.systemCall, "bind/listen \(path): \(String(cString: strerror(code)))")
        }
        chmod(path, 0o600)
        return descriptor
    }

    /// Bounds every blocking read and write on `descriptor`.
    package static func setTimeout(_ descriptor: Int32, seconds: Int) {
        var value = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads to the end of the stream, at most `limit` bytes.
    package static func readMessage(_ descriptor: Int32, limit: Int, what: String) throws(WeaveError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = SystemCall.retryingInterrupts { chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) } }
            if count < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { throw WeaveError(.timedOut, "no complete \(what) in time") }
                throw WeaveError(.systemCall, "reading the \(what): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return result }
            result += chunk[0..<count]
            guard result.count <= limit else { throw WeaveError(.malformedMessage, "\(what) longer than \(limit) bytes") }
        }
    }

    /// Writes all of `bytes` (`send(MSG_NOSIGNAL)`: a peer that went away is an error, never
    /// a SIGPIPE) and shuts the writing side down, so the peer reads to the end.
    package static func writeMessage(_ descriptor: Int32, _ bytes: [UInt8], what: String) throws(WeaveError) {
        var offset = 0
        while offset < bytes.count {
            let sent = SystemCall.retryingInterrupts {
                bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            if sent < 0 { throw WeaveError(.systemCall, "writing the \(what): \(String(cString: strerror(errno)))") }
            offset += sent
        }
        shutdown(descriptor, Int32(SHUT_WR))
    }
}
