import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

/// Names are resolved in the handle's namespace, never in the calling thread's, and a handle
/// for the caller's own namespace (opened without a thread) behaves like any other.
@Suite("Interface index resolution", .serialized)
struct InterfaceIndexTests {
    @Test("same name, different index in two namespaces: each handle resolves its own", .privileged)
    func resolvesInTheSocketsNamespace() async throws {
        try await NamespaceFixture.with(count: 2) { namespaces in
            let first = try NetlinkHandle(namespace: namespaces[0])
            let second = try NetlinkHandle(namespace: namespaces[1])
            try first.addLink(.bridge("pad0"))
            try first.addLink(.bridge("pad1"))
            try first.addLink(.bridge("swidx0"))
            try second.addLink(.bridge("swidx0"))
            let inFirst = try first.link(named: "swidx0").index
            let inSecond = try second.link(named: "swidx0").index
            #expect(inFirst != inSecond)
            // From a thread inside the first namespace, the second handle still answers for
            // the second namespace (and the reverse from the test's own thread).
            let resolved = try namespaces[0].runBlocking {
                (try second.index(of: "swidx0"), try first.index(of: "swidx0"))
            }
            #expect(resolved.0 == inSecond)
            #expect(resolved.1 == inFirst)
            #expect(try second.index(of: "swidx0") == inSecond)
            // A name only the other namespace has is not found here.
            let missing = #expect(throws: NetlinkError.self) { try second.index(of: "pad1") }
            #expect(missing?.code == .notFound)
        }
    }

    @Test("a handle for the calling thread's namespace and its sysctls", .privileged)
    func handleForTheCallersNamespace() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            try namespaces[0].runBlocking {
                let here = try NetlinkHandle(namespace: NetworkNamespace.current())
                try here.addLink(.bridge("swidx1"))
                try here.setIPForwarding(true)
                #expect(try here.sysctl("net.ipv4.ip_forward") == "1")
                #expect(try here.link(named: "swidx1").kind == .bridge)
            }
            let outside = try NetlinkHandle(namespace: namespaces[0])
            #expect(try outside.sysctl("net.ipv4.ip_forward") == "1")
            #expect(try outside.linkIfPresent(named: "swidx1") != nil)
        }
    }
}
