#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import NetPrimitives
import Policy
import Synchronization
import Testing

/// One node namespace and pods as namespaces on it, joined Calico-style by routed veths:
/// pod `eth0` 10.66.0.1N/32 with `default dev eth0`, node side `vpN` with proxy ARP and a /32
/// route; the node owns 10.66.255.1 (on lo). The node and every pod serve TCP 80, 81 and UDP 80, 81
/// (echo).
final class PodNetwork: Sendable {
    static let nodeAddress = "10.66.255.1"
    let node: NetworkNamespace
    let pods: [NetworkNamespace]
    let endpoints: [Endpoint]
    private let servers: [EchoServer]

    static func address(_ index: Int) -> String { "10.66.0.\(11 + index)" }
    static func interface(_ index: Int) -> String { "vp\(index + 1)" }

    init(node: NetworkNamespace, pods: [NetworkNamespace], endpoints: [Endpoint]) throws {
        self.node = node
        self.pods = pods
        self.endpoints = endpoints
        try Self.ip(node, ["addr", "add", "\(Self.nodeAddress)/32", "dev", "lo"])
        try Self.sysctl(node, "net/ipv4/ip_forward", "1")
        for (index, pod) in pods.enumerated() {
            let host = Self.interface(index), address = Self.address(index)
            try Self.ip(node, ["link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.name!])
            try Self.ip(node, ["link", "set", host, "up"])
            try Self.sysctl(node, "net/ipv4/conf/\(host)/proxy_arp", "1")
            // Answer proxy ARP at once (the default delays answers by up to 0.8 s).
            try Self.sysctl(node, "net/ipv4/neigh/\(host)/proxy_delay", "0")
            try Self.ip(node, ["route", "add", "\(address)/32", "dev", host])
            try Self.ip(pod, ["addr", "add", "\(address)/32", "dev", "eth0"])
            try Self.ip(pod, ["link", "set", "eth0", "up"])
            try Self.ip(pod, ["route", "add", "default", "dev", "eth0"])
        }
        servers = try ([node] + pods).map { try EchoServer(in: $0, ports: [80, 81]) }
    }

    func stop() { for server in servers { server.stop() } }

    static func ip(_ namespace: NetworkNamespace, _ arguments: [String]) throws {
        let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5000)
        try #require(output.status.isSuccess, "ip \(arguments): \(String(decoding: output.standardError, as: UTF8.self))")
    }

    static func sysctl(_ namespace: NetworkNamespace, _ key: String, _ value: String) throws {
        let output = try namespace.runProcess(
            "/bin/sh", arguments: ["-c", "echo \(value) > /proc/sys/\(key)"], timeoutMilliseconds: 5000)
        try #require(output.status.isSuccess, "sysctl \(key)")
    }

    /// The namespace of a probe end (-1: the node).
    func namespace(forSource index: Int) -> NetworkNamespace { index < 0 ? node : pods[index] }

    /// The address of a probe end (-1: the node).
    static func target(_ index: Int) -> String { index < 0 ? nodeAddress : address(index) }
}

/// A probe: from a pod (or the node, index -1) to a pod (or the node), one protocol and port.
struct Probe: Hashable, CustomStringConvertible {
    var from: Int
    var to: Int
    var transport: TransportProtocol
    var port: UInt16
    var description: String { "\(from < 0 ? "node" : "pod\(from)") -> \(to < 0 ? "node" : "pod\(to)") \(transport)/\(port)" }
}

enum Sockets {
    static func socketAddress(_ address: String, _ port: UInt16) -> sockaddr_in {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &socketAddress.sin_addr)
        return socketAddress
    }

    static func withAddress<T>(_ address: String, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var target = socketAddress(address, port)
        return withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Non-blocking socket with a connect (TCP) or a datagram sent (UDP) already under way.
    static func start(_ transport: TransportProtocol, to address: String, port: UInt16) -> Int32 {
        let type = transport == .tcp ? SOCK_STREAM : SOCK_DGRAM
        let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        _ = withAddress(address, port) { Glibc.connect(fd, $0, $1) }
        if transport == .udp { _ = send(fd, "ping", 4, 0) }
        return fd
    }

    /// Whether the probe on `fd` succeeded: TCP established (it has a peer), or a UDP echo came
    /// back. Strict, so that a connect refused at once (a closed socket polls writable) or a
    /// descriptor in a bad state never counts as a connection.
    static func succeeded(_ fd: Int32, _ transport: TransportProtocol, timeoutMilliseconds: Int32) -> Bool {
        guard fd >= 0 else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(transport == .tcp ? POLLOUT : POLLIN), revents: 0)
        guard poll(&descriptor, 1, timeoutMilliseconds) == 1,
              descriptor.revents & Int16(POLLERR | POLLHUP | POLLNVAL) == 0 else { return false }
        if transport == .tcp {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { return false }
            var peer = sockaddr_in()
            var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
            return withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) }
            } == 0
        }
        var buffer = [UInt8](repeating: 0, count: 16)
        return recv(fd, &buffer, buffer.count, 0) == 4 && buffer.prefix(4) == Array("ping".utf8)[...]
    }

    /// A connected blocking TCP socket created in `namespace`, or nil.
    static func connect(from namespace: NetworkNamespace, to address: String, port: UInt16) throws -> Int32? {
        let fd = try namespace.runBlocking { start(.tcp, to: address, port: port) }
        guard succeeded(fd, .tcp, timeoutMilliseconds: 1000) else {
            close(fd)
            return nil
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~Int32(O_NONBLOCK))
        return fd
    }

    /// Sends `text` and reads the echo, within `timeoutMilliseconds`.
    static func exchange(_ fd: Int32, _ text: String, timeoutMilliseconds: Int32) -> Bool {
        let bytes = Array(text.utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return false }
        var received: [UInt8] = []
        while received.count < bytes.count {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, timeoutMilliseconds) == 1 else { return false }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return false }
            received += buffer.prefix(count)
        }
        return received == bytes
    }
}

extension PodNetwork {
    /// Runs the probes concurrently (per source namespace) and returns those that succeeded.
    /// Probes expected to succeed are retried, so a cold ARP cache does not count as denial.
    func run(_ probes: [Probe], expected: (Probe) -> Bool) throws -> Set<Probe> {
        var succeeded: Set<Probe> = []
        var pending = probes
        for attempt in 0..<5 {
            var sockets: [(Probe, Int32)] = []
            for (from, group) in Dictionary(grouping: pending, by: \.from) {
                let fds = try namespace(forSource: from).runBlocking {
                    group.map { Sockets.start($0.transport, to: Self.target($0.to), port: $0.port) }
                }
                sockets += zip(group, fds).map { ($0, $1) }
            }
            // One deadline for all: probes run concurrently, a denied one costs the wait once.
            let deadline = ContinuousClock.now + .milliseconds(attempt == 0 ? 300 : 200)
            for (probe, fd) in sockets {
                let remaining = max(0, (deadline - ContinuousClock.now).components.attoseconds / 1_000_000_000_000_000)
                if Sockets.succeeded(fd, probe.transport, timeoutMilliseconds: Int32(remaining)) { succeeded.insert(probe) }
            }
            for (_, fd) in sockets { close(fd) }
            pending = pending.filter { !succeeded.contains($0) && expected($0) }
            if pending.isEmpty { break }
        }
        return succeeded
    }
}

/// TCP and UDP echo servers on one pod's ports, served by one thread polling every socket.
final class EchoServer: Sendable {
    private let flag = StopFlag()

    init(in namespace: NetworkNamespace, ports: [UInt16]) throws {
        let listeners: [(Int32, Bool)] = try namespace.runBlocking {
            try ports.flatMap { port -> [(Int32, Bool)] in
                try [SOCK_STREAM, SOCK_DGRAM].map { type in
                    let fd = socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                    var one: Int32 = 1
                    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
                    let bound = Sockets.withAddress("0.0.0.0", port) { bind(fd, $0, $1) }
                    try #require(fd >= 0 && bound == 0)
                    if type == SOCK_STREAM { try #require(listen(fd, 64) == 0) }
                    return (fd, type == SOCK_STREAM)
                }
            }
        }
        let thread = ServerThread(listeners: listeners, flag: flag)
        thread.start()
    }

    func stop() {
        flag.stopped.store(true, ordering: .sequentiallyConsistent)
        while !flag.finished.load(ordering: .sequentiallyConsistent) { usleep(5000) }
    }
}
