#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import NetPrimitives

/// TCP or UDP.
public enum ProbeProtocol: String, Codable, Hashable, Sendable, CaseIterable {
    case tcp
    case udp
}

/// One probed pair: TCP is connected when the connection is accepted, UDP when the pod
/// server's echo arrives.
public struct ProbeResult: Codable, Hashable, Sendable {
    /// `namespace/name` of the source pod.
    public var from: String
    /// `namespace/name` of the destination pod.
    public var to: String
    public var port: Int
    public var `protocol`: ProbeProtocol
    public var connected: Bool
    /// The family probed over (`"4"` or `"6"` in JSON): the destination's address of it.
    public var family: IPAddress.Family

    public init(from: String, to: String, port: Int, protocol: ProbeProtocol, connected: Bool, family: IPAddress.Family = .v4) {
        self.from = from
        self.to = to
        self.port = port
        self.protocol = `protocol`
        self.connected = connected
        self.family = family
    }
}

/// What ``Lab/probe(_:)`` tries.
public struct ProbeOptions: Hashable, Sendable {
    public var ports: [Int]
    public var protocols: [ProbeProtocol]
    public var timeoutMilliseconds: Int
    /// When set, each source pod's probes bind consecutive source ports from this one (the
    /// k-th target of a pod gets `firstSourcePort + k`) instead of letting the kernel pick.
    /// A caller that advances it between calls never repeats a 5-tuple, so no probe rides on
    /// the conntrack entry of an earlier one (an established flow outlives a policy change:
    /// UDP entries for 30–120 s). A port that cannot be bound falls back to the kernel's choice.
    public var firstSourcePort: UInt16?
    /// The families to probe over (`cnilab probe --family 4|6`); nil: every family any of the
    /// pods has an address of (IPv4 only in an IPv4 lab, both in a dual-stack one). A pod
    /// without an address of a probed family counts as not connected.
    public var families: [IPAddress.Family]?

    public init(
        ports: [Int] = [80, 81], protocols: [ProbeProtocol] = [.tcp, .udp], timeoutMilliseconds: Int = 300,
        firstSourcePort: UInt16? = nil, families: [IPAddress.Family]? = nil
    ) {
        self.families = families
        self.ports = ports
        self.protocols = protocols
        self.timeoutMilliseconds = timeoutMilliseconds
        self.firstSourcePort = firstSourcePort
    }

    /// How many source ports one call uses per source pod (`firstSourcePort` advances by this).
    /// (With several families each family uses the same source ports: their 5-tuples differ by address.)
    public func sourcePortsPerPod(podCount: Int) -> Int { max(podCount - 1, 0) * ports.count * protocols.count }
}

extension Lab {
    /// Connects from every pod to every other pod on each port and protocol, all pairs in
    /// parallel: each source pod's sockets are opened on a dedicated thread inside its
    /// namespace and awaited together until the timeout.
    public func probe(_ options: ProbeOptions = ProbeOptions()) async throws -> [ProbeResult] {
        try await Self.probe(pods(), options)
    }

    /// Probes between `pods` (a snapshot from ``pods()``) without touching the lab: usable
    /// while another call holds the lab, e.g. a probe loop across an agent restart.
    public static func probe(_ pods: [LabPod], _ options: ProbeOptions = ProbeOptions()) async throws -> [ProbeResult] {
        guard options.ports.allSatisfy({ (1...65535).contains($0) }), !options.ports.isEmpty, !options.protocols.isEmpty,
            (1...60_000).contains(options.timeoutMilliseconds)
        else { throw LabError(.invalidArgument, "probe needs ports 1–65535, a protocol and a timeout of 1–60000 ms") }
        let families = options.families ?? IPAddress.Family.allCases.filter { family in pods.contains { $0.address(of: family) != nil } }
        var plans: [(source: LabPod, namespace: NetworkNamespace, targets: [ProbeTarget])] = []
        for source in pods {
            var targets: [ProbeTarget] = []
            for family in families.isEmpty ? [.v4] : families {
                var sourceIndex = 0
                for destination in pods where destination != source {
                    for port in options.ports {
                        for proto in options.protocols {
                            targets.append(
                                ProbeTarget(
                                    to: destination.qualifiedName, address: destination.address(of: family).flatMap { IPAddress($0) },
                                    port: UInt16(port), protocol: proto, family: family, sourceIndex: sourceIndex))
                            sourceIndex += 1
                        }
                    }
                }
            }
            plans.append((source, try Self.openNamespace(source.networkNamespace), targets))
        }
        let timeout = options.timeoutMilliseconds
        let firstSourcePort = options.firstSourcePort
        return try await withThrowingTaskGroup(of: [ProbeResult].self) { group in
            for plan in plans {
                let (source, namespace, targets) = (plan.source.qualifiedName, plan.namespace, plan.targets)
                group.addTask {
                    let connected = try await namespace.run {
                        Prober.probe(targets, timeoutMilliseconds: timeout, firstSourcePort: firstSourcePort)
                    }
                    return zip(targets, connected).map {
                        ProbeResult(from: source, to: $0.to, port: Int($0.port), protocol: $0.protocol, connected: $1, family: $0.family)
                    }
                }
            }
            var results: [ProbeResult] = []
            for try await part in group { results += part }
            let order = Dictionary(uniqueKeysWithValues: pods.enumerated().map { ($1.qualifiedName, $0) })
            return results.sorted {
                ($0.from == $1.from)
                    ? ($0.family.rawValue, order[$0.to]!, $0.port, $0.protocol.rawValue)
                        < ($1.family.rawValue, order[$1.to]!, $1.port, $1.protocol.rawValue)
                    : order[$0.from]! < order[$1.from]!
            }
        }
    }
}

struct ProbeTarget: Sendable {
    var to: String
    var address: IPAddress?
    var port: UInt16
    var `protocol`: ProbeProtocol
    var family: IPAddress.Family = .v4
    /// The target's offset from ``ProbeOptions/firstSourcePort`` (counted per family).
    var sourceIndex = 0
}

/// Plain sockets, non-blocking, all polled together. Runs on a thread inside the source pod.
enum Prober {
    static func probe(_ targets: [ProbeTarget], timeoutMilliseconds: Int, firstSourcePort: UInt16? = nil) -> [Bool] {
        var connected = [Bool](repeating: false, count: targets.count)
        var descriptors = [pollfd](repeating: pollfd(fd: -1, events: 0, revents: 0), count: targets.count)
        let payload: [UInt8] = Array("cnilab-probe".utf8)
        for (index, target) in targets.enumerated() {
            guard let address = target.address else { continue }
            let type = target.protocol == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
            let domain = address.family == .v4 ? AF_INET : AF_INET6
            let fd = socket(domain, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            if let firstSourcePort, let port = UInt16(exactly: Int(firstSourcePort) + target.sourceIndex) {
                bindSourcePort(fd, port, family: address.family)
            }
            let result = withSocketAddress(address, port: target.port) { connect(fd, $0, $1) }
            guard result == 0 || errno == EINPROGRESS else { close(fd); continue }
            if target.protocol == .udp { _ = payload.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
            descriptors[index] = pollfd(fd: fd, events: Int16(target.protocol == .tcp ? POLLOUT : POLLIN), revents: 0)
        }
        let start = now()
        var lastResend = start
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let elapsed = now() - start
            let pending = descriptors.indices.filter { descriptors[$0].fd >= 0 }
            if pending.isEmpty || elapsed >= timeoutMilliseconds { break }
            let wait = min(timeoutMilliseconds - elapsed, 50)
            _ = poll(&descriptors, nfds_t(descriptors.count), Int32(wait))
            for index in pending where descriptors[index].revents != 0 {
                let fd = descriptors[index].fd
                if targets[index].protocol == .tcp {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    connected[index] = error == 0 && descriptors[index].revents & Int16(POLLOUT) != 0
                    close(fd)
                    descriptors[index].fd = -1
                } else {
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if count > 0 || (count < 0 && errno != EAGAIN && errno != EINTR) {
                        connected[index] = count > 0
                        close(fd)
                        descriptors[index].fd = -1
                    }
                }
                descriptors[index].revents = 0
            }
            // UDP may lose a first datagram (neighbour resolution): send again now and then.
            if now() - lastResend >= 100 {
                lastResend = now()
                for index in descriptors.indices where descriptors[index].fd >= 0 && targets[index].protocol == .udp {
                    _ = payload.withUnsafeBytes { send(descriptors[index].fd, $0.baseAddress, $0.count, 0) }
                }
            }
        }
        for descriptor in descriptors where descriptor.fd >= 0 { close(descriptor.fd) }
        return connected
    }

    /// Binds `fd` to `port` on any address; on failure the kernel picks the port at connect.
    static func bindSourcePort(_ fd: Int32, _ port: UInt16, family: IPAddress.Family = .v4) {
        let any: IPAddress = family == .v4 ? .v4(IPv4Address(0, 0, 0, 0)) : .v6(IPv6Address(bytes: [UInt8](repeating: 0, count: 16))!)
        _ = withSocketAddress(any, port: port) { bind(fd, $0, $1) }
    }

    /// Calls `body` with `address:port` as a `sockaddr_in` or `sockaddr_in6`.
    static func withSocketAddress<T>(_ address: IPAddress, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        switch address {
        case .v4(let v4):
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = port.bigEndian
            socketAddress.sin_addr.s_addr = v4.value.bigEndian
            return withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let v6):
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            socketAddress.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { raw in
                for (offset, byte) in v6.bytes.enumerated() { raw[offset] = byte }
            }
            return withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    static func now() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1000 + time.tv_nsec / 1_000_000
    }
}
