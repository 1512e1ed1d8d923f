import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Events", .serialized)
struct EventTests {
    @Test("link, address, route and neighbour changes arrive as an AsyncSequence", .privileged)
    func events() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            let events = try handle.events()
            try handle.addLink(.veth("e0", peer: "e1"))
            try handle.setLinkUp("e0")
            try handle.addAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "e0")
            try handle.addRoute(Route(destination: try IPNetwork(parsing: "10.9.0.0/24"), gateway: try IPAddress(parsing: "10.1.0.2")))
            try handle.addNeighbor(.permanent(try IPAddress(parsing: "10.1.0.7"), macAddress: try MACAddress(parsing: "02:00:00:00:00:07")), device: "e0")
            try handle.deleteLink(named: "e0")
            var seen: Set<String> = []
            let expected: Set<String> = ["link e0", "address 10.1.0.1/24", "route 10.9.0.0/24", "neighbor 10.1.0.7", "removed e0"]
            for try await event in events {
                switch event {
                case .linkChanged(let link): seen.insert("link \(link.name)")
                case .linkRemoved(let link): seen.insert("removed \(link.name)")
                case .addressAdded(let address): seen.insert("address \(address.network)")
                case .routeAdded(let route): seen.insert("route \(route.destination)")
                case .neighborChanged(let neighbor): seen.insert("neighbor \(neighbor.address.map { "\($0)" } ?? "")")
                default: break
                }
                if seen.isSuperset(of: expected) { break }
            }
            #expect(seen.isSuperset(of: expected))
        }
    }

    @Test("cancelling the consuming task ends the subscription and closes its socket", .privileged)
    func cancellation() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let namespace = namespaces[0]
            let handle = try NetlinkHandle(namespace: namespace)
            #expect(try Self.subscribedRouteSockets(in: namespace) == 0)
            let events = try handle.events([.links])
            #expect(try Self.subscribedRouteSockets(in: namespace) == 1)
            let consumer = Task {
                var count = 0
                for try await _ in events { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(50))
            consumer.cancel()
            // The sequence ends, and the reader thread closes the subscription socket.
            _ = try await withTimeout(.seconds(5), "the consumer after cancel") { try await consumer.value }
            let closed = try await withTimeout(.seconds(5), "the subscription socket to close") { () async throws -> Bool in
                while try Self.subscribedRouteSockets(in: namespace) != 0 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                return true
            }
            #expect(closed)
        }
    }

    /// NETLINK_ROUTE sockets of `namespace` that joined a multicast group: the namespace's
    /// `/proc/net/netlink` (read from a thread inside it), protocol 0, groups not 0.
    static func subscribedRouteSockets(in namespace: NetworkNamespace) throws -> Int {
        let table = try namespace.runBlocking { try String(contentsOfFile: "/proc/thread-self/net/netlink", encoding: .utf8) }
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 3 && fields[1] == "0" && fields[3].contains { $0 != "0" }
        }.count
    }
}
