// cnilab-pod-server: the tiny server every lab pod runs (started inside the pod's namespace).
// Accepts TCP connections and echoes UDP datagrams on the ports given as arguments
// (default 80 and 81): the named ports serve-80-tcp, serve-80-udp, serve-81-tcp, serve-81-udp.
// Glibc only, so it starts fast and stays small.
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    let text = "cnilab-pod-server: \(message) (errno \(errno))\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

/// A socket bound to `port` on every address: IPv6 with IPv4-mapped addresses (one socket for
/// both families, so dual-stack and IPv6-only pods are served), or IPv4 alone where the
/// namespace has no IPv6.
func bound(_ type: Int32, port: UInt16) -> Int32 {
    var fd = socket(AF_INET6, type | Int32(SOCK_CLOEXEC.rawValue), 0)
    var one: Int32 = 1
    var zero: Int32 = 0
    if fd >= 0 {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        if result == 0 { return listening(fd, type, port) }
        close(fd)
    }
    fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { fail("socket") }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = 0
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard result == 0 else { fail("bind port \(port)") }
    return listening(fd, type, port)
}

func listening(_ fd: Int32, _ type: Int32, _ port: UInt16) -> Int32 {
    if type == Int32(SOCK_STREAM.rawValue) { guard listen(fd, 128) == 0 else { fail("listen \(port)") } }
    return fd
}

signal(SIGPIPE, SIG_IGN)
let ports = CommandLine.arguments.dropFirst().compactMap { UInt16($0) }
var descriptors: [pollfd] = []
var isStream: [Bool] = []
for port in ports.isEmpty ? [80, 81] : ports {
    descriptors.append(pollfd(fd: bound(Int32(SOCK_STREAM.rawValue), port: port), events: Int16(POLLIN), revents: 0))
    isStream.append(true)
    descriptors.append(pollfd(fd: bound(Int32(SOCK_DGRAM.rawValue), port: port), events: Int16(POLLIN), revents: 0))
    isStream.append(false)
}
var buffer = [UInt8](repeating: 0, count: 2048)
while true {
    let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
    if ready < 0 { if errno == EINTR { continue }; fail("poll") }
    for index in descriptors.indices where descriptors[index].revents != 0 {
        let fd = descriptors[index].fd
        if isStream[index] {
            let client = accept(fd, nil, nil)
            if client >= 0 {
                _ = "ok\n".withCString { write(client, $0, 3) }
                close(client)
            }
        } else {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) { peerPointer in
                peerPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), address, &length) }
                }
            }
            if count > 0 {
                _ = withUnsafePointer(to: &peer) { peerPointer in
                    peerPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                        buffer.withUnsafeBytes { sendto(fd, $0.baseAddress, count, 0, address, length) }
                    }
                }
            }
        }
    }
}
