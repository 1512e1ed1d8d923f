#if canImport(Glibc)
import Glibc
#endif
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink
@testable import Nftables

/// Real packets between two test namespaces joined by a veth pair: a drop rule installed
/// through the library blocks ping and TCP connect, and deleting it restores both.
@Suite("Nftables traffic", .serialized)
struct NftablesTrafficTests {
    @Test("a drop rule blocks ping and TCP connect; deleting it by handle restores them", .privileged)
    func dropRuleBlocksTraffic() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let (client, server) = (namespaces[0], namespaces[1])
            try Self.connect(client, server)
            let listener = try Self.listen(in: server, port: 8080)
            defer { close(listener) }
            // The fresh link may need a moment (carrier, ARP) on a busy machine.
            try #require(try Self.reachable(from: client, "10.99.0.2"))
            #expect(try Self.tcpConnects(from: client, to: "10.99.0.2", port: 8080))

            let table = NftablesTable(family: .inet, name: "swcni_traffic")
            let input = NftablesChain.base(table: table, name: "input", hook: .input)
            let handle = try NftablesHandle(namespace: server)
            var install = NftablesTransaction()
            install.add(table)
            install.add(input)
            install.add(
                NftablesRule(
                    in: input, matches: [.inputInterface("b0"), .sourceAddress(try IPNetwork(parsing: "10.99.0.1/32"))],
                    statements: [.counter, .drop], comment: "block client"))
            try handle.apply(install)

            #expect(try !Self.ping(from: client, "10.99.0.2"))
            #expect(try !Self.tcpConnects(from: client, to: "10.99.0.2", port: 8080))

            let rule = try #require(try handle.rules(in: table, chain: "input").first { $0.comment == "block client" })
            // The rule's counter saw the dropped packets (nft: counter packets N bytes M).
            #expect((rule.counters?.packets ?? 0) >= 2)
            #expect((rule.counters?.bytes ?? 0) > 0)
            var removal = NftablesTransaction()
            removal.deleteRule(handle: try #require(rule.handle), in: input)
            try handle.apply(removal)

            #expect(try Self.reachable(from: client, "10.99.0.2"))
            #expect(try Self.tcpConnects(from: client, to: "10.99.0.2", port: 8080))
        }
    }

    /// veth a0 (10.99.0.1/24, client) <-> b0 (10.99.0.2/24, server); created from inside the
    /// client namespace, the peer placed straight into the server namespace.
    static func connect(_ client: NetworkNamespace, _ server: NetworkNamespace) throws {
        let steps: [(NetworkNamespace, [String])] = [
            (client, ["link", "add", "a0", "type", "veth", "peer", "name", "b0", "netns", server.name!]),
            (client, ["addr", "add", "10.99.0.1/24", "dev", "a0"]),
            (client, ["link", "set", "a0", "up"]),
            (server, ["addr", "add", "10.99.0.2/24", "dev", "b0"]),
            (server, ["link", "set", "b0", "up"]),
        ]
        for (namespace, arguments) in steps {
            let output = try namespace.runProcess("/usr/sbin/ip", arguments: arguments, timeoutMilliseconds: 5000)
            try #require(output.status.isSuccess, "ip \(arguments): \(String(decoding: output.standardError, as: UTF8.self))")
        }
    }

    /// Ping succeeds within three attempts.
    static func reachable(from namespace: NetworkNamespace, _ address: String) throws -> Bool {
        for _ in 0..<3 where try ping(from: namespace, address) { return true }
        return false
    }

    static func ping(from namespace: NetworkNamespace, _ address: String) throws -> Bool {
        let output = try namespace.runProcess(
            "/usr/bin/ping", arguments: ["-c", "1", "-W", "1", "-q", address], timeoutMilliseconds: 5000)
        return output.status.isSuccess
    }

    static func sockaddr(_ address: String, _ port: UInt16) -> sockaddr_in {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &socketAddress.sin_addr)
        return socketAddress
    }

    /// A listening TCP socket inside `namespace` (the kernel completes handshakes without accept).
    static func listen(in namespace: NetworkNamespace, port: UInt16) throws -> Int32 {
        try namespace.runBlocking {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr("10.99.0.2", port)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            try #require(fd >= 0 && bound == 0 && Glibc.listen(fd, 16) == 0)
            return fd
        }
    }

    /// Whether a TCP connect from `namespace` completes within 700 ms.
    static func tcpConnects(from namespace: NetworkNamespace, to address: String, port: UInt16) throws -> Bool {
        try namespace.runBlocking {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            defer { close(fd) }
            var target = sockaddr(address, port)
            let started = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if started == 0 { return true }
            guard errno == EINPROGRESS else { return false }
            var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&descriptor, 1, 700) == 1 else { return false }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            return error == 0
        }
    }
}
