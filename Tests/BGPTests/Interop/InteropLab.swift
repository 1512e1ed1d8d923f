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
struct InteropLab {
    let speakerNamespace: NetworkNamespace
    let peerNamespaces: [NetworkNamespace]
    let directory: String

    static let ipTool = ChildProcess.find("ip", in: ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) ?? "/usr/sbin/ip"

    static func with(peers: Int, _ body: (InteropLab) async throws -> Void) async throws {
        try await NamespaceFixture.with(count: peers + 1) { namespaces in
            var template = Array("/tmp/swcni-bgp-XXXXXX".utf8CString)
            let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
            defer { _ = try? ChildProcess.run("/bin/rm", arguments: ["-rf", directory]) }
            let lab = InteropLab(speakerNamespace: namespaces[0], peerNamespaces: Array(namespaces.dropFirst()), directory: directory)
            for index in 0..<peers { try lab.link(index) }
            try await body(lab)
        }
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
