#if canImport(Glibc)
import Glibc
#endif
import Datastore
import Kubernetes
import KubernetesTestServer
import Testing
import TestSupport

@Suite("Fixture on a socket the caller bound")
struct BoundSocketTests {
    /// What `cnilab up --kube` will do inside the fabric namespace: bind and listen there,
    /// then hand the socket to the fixture.
    @Test func servesOnABoundSocket() async throws {
        try await withTimeout(.seconds(30), "the fixture on a bound socket") {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(descriptor >= 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(bound == 0)
            #expect(listen(descriptor, 64) == 0)
            let directory = try TestDirectories.temporary(prefix: "swiftcni-kube-")
            defer { TestDirectories.remove(directory) }
            let store = try FileDatastore(directory: directory, pollIntervalMilliseconds: 10, synchronousWrites: false)
            let fixture = try await APIServerFixture.start(store: store, boundSocket: descriptor)
            #expect(fixture.port > 0)
            let client = try KubernetesClient(configuration: ClientConfiguration(server: fixture.url))
            let names = try await client.list(Namespace.self).items.map(\.name)
            await fixture.shutdown()
            #expect(names == APIServerFixture.systemNamespaces)
        }
    }
}
