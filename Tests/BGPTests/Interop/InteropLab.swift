#if canImport(Glibc)
import Glibc
#endif
import BGP
import ChildProcess
import Namespaces
import NetPrimitives
import TestSupport

/// A star of network namespaces for interop tests: the speaker's namespace joined by one veth
/// pair to each peer namespace. Link i uses 10.10<i>.0.0/24 and fd00:10<i>::/64, the speaker
/// side .1 / ::1, the peer side .2 / ::2. Everything is removed afterwards.
struct InteropLab: Sendable {
    let speakerNamespace: NetworkNamespace
    let peerNamespaces: [NetworkNamespace]
    let directory: String

    static let ipTool = ChildProcess.find("ip", in: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) ?? "/usr/sbin/ip"

    /// Builds the lab, runs `body` (failing with a clear error when it takes longer than
    /// `timeLimit`: it is then abandoned, not waited for), and removes everything, including
    /// any daemon this process started in the lab's namespaces that is still running.
    static func with(
        peers: Int, timeLimit: Duration = .seconds(240), _ body: @escaping @Sendable (InteropLab) async throws -> Void
    ) async throws {
        try await NamespaceFixture.with(count: peers + 1) { namespaces in
            let directory = try TestDirectories.temporary(prefix: "swcni-bgp-")
            defer { TestDirectories.remove(directory) }
            defer { killOwnChildren(in: namespaces) }
            let lab = InteropLab(speakerNamespace: namespaces[0], peerNamespaces: Array(namespaces.dropFirst()), directory: directory)
            for index in 0..<peers { try lab.link(index) }
            try await withTimeout(timeLimit, "the interop test body") { try await body(lab) }
        }
    }

    /// SIGKILLs this process's children whose network namespace is one of `namespaces` (a
    /// daemon of a body abandoned after its time limit). Only our own children inside
    /// namespaces this test created are touched. They are not reaped here: the abandoned body
    /// still holds their PIDs (a zombie's PID cannot be reused, so its later stop() or wait()
    /// still reaches its own process).
    static func killOwnChildren(in namespaces: [NetworkNamespace]) {
        let inodes = Set(namespaces.map { "net:[\($0.inode)]" })
        let parent = getpid()
        guard let directory = opendir("/proc") else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), parentOf(pid) == parent else { continue }
            var link = [CChar](repeating: 0, count: 64)
            let count = readlink("/proc/\(pid)/ns/net", &link, link.count - 1)
            guard count > 0 else { continue }
            let namespace = String(decoding: link[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard inodes.contains(namespace) else { continue }
            kill(pid, SIGKILL)
        }
    }

    /// The parent PID from /proc/PID/stat (the field after the parenthesised command name).
    private static func parentOf(_ pid: Int32) -> Int32? {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    func speakerAddress(_ index: Int) -> IPAddress { IPAddress("10.10\(index).0.1")! }
    func peerAddress(_ index: Int) -> IPAddress { IPAddress("10.10\(index).0.2")! }
    func speakerIPv6(_ index: Int) -> IPv6Address { try! IPv6Address(parsing: "fd00:10\(index)::1") }
    func peerIPv6(_ index: Int) -> IPv6Address { try! IPv6Address(parsing: "fd00:10\(index)::2") }

    /// Sockets of the speaker are created inside its namespace.
    var socketContext: SocketContext {
        let namespace = speakerNamespace
        return SocketContext { work in try await namespace.run(work) }
    }

    private func link(_ index: Int) throws {
        let peer = peerNamespaces[index]
        let inner = "swbgp\(index)"
        try run(speakerNamespace, ["link", "add", inner, "type", "veth", "peer", "name", "swbgp", "netns", peer.name!])
        try run(speakerNamespace, ["addr", "add", "10.10\(index).0.1/24", "dev", inner])
        try run(speakerNamespace, ["-6", "addr", "add", "fd00:10\(index)::1/64", "dev", inner, "nodad"])
        try run(speakerNamespace, ["link", "set", inner, "up"])
        try run(peer, ["addr", "add", "10.10\(index).0.2/24", "dev", "swbgp"])
        try run(peer, ["-6", "addr", "add", "fd00:10\(index)::2/64", "dev", "swbgp", "nodad"])
        try run(peer, ["link", "set", "swbgp", "up"])
    }

    private func run(_ namespace: NetworkNamespace, _ arguments: [String]) throws {
        let output = try namespace.runProcess(Self.ipTool, arguments: arguments, timeoutMilliseconds: 5000)
        guard output.status.isSuccess else {
            throw InteropError("ip \(arguments.joined(separator: " ")) failed: \(output.standardErrorText)")
        }
    }

    /// A speaker living in the lab's speaker namespace.
    func speaker(localAS: UInt32, routerID: IPv4Address = IPv4Address(10, 255, 0, 1), gracefulRestartTime: UInt16 = 30,
                 peers: [BGPSpeaker.PeerConfiguration]) throws -> BGPSpeaker {
        try BGPSpeaker(
            configuration: .init(localAS: localAS, routerID: routerID, listenAddress: .v4(.any), listenPort: 179,
                                 gracefulRestartTime: gracefulRestartTime, socketContext: socketContext),
            peers: peers)
    }

    /// The speaker's side of link `index` as a peer configuration with short test timers.
    func peerConfiguration(_ index: Int, asNumber: UInt32, families: [AddressFamily] = [.ipv4Unicast],
                           password: String? = nil, routeReflectorClient: Bool = false) -> BGPSpeaker.PeerConfiguration {
        .init(address: peerAddress(index), asNumber: asNumber, holdTime: 3, connectRetryTime: 1, password: password,
              families: families, routeReflectorClient: routeReflectorClient, localAddress: speakerAddress(index),
              nextHopIPv6: speakerIPv6(index))
    }
}

struct InteropError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
