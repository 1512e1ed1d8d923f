import Foundation
import Namespaces
import NetPrimitives
import TestSupport
import Testing

@testable import Netlink

@Suite("Batching", .serialized)
struct BatchTests {
    @Test("a batch of routes and neighbours; each failure maps back to its request", .privileged)
    func batch() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            try handle.addLink(.veth("b0", peer: "b1"))
            try handle.setLinkUp("b0")
            try handle.addAddress(Address(try IPNetwork(parsing: "10.1.0.1/24")), device: "b0")
            var batch = NetlinkRequestBatch()
            let tag = Route.ProtocolTag(92)
            let hosts = try IPNetwork(parsing: "10.100.0.0/20").subnets(prefixLength: 32).prefix(3000)
            for host in hosts { batch.addRoute(Route(destination: host, device: "b0", protocolTag: tag)) }
            batch.addRoute(Route(destination: try IPNetwork(parsing: "10.100.0.7/32"), device: "b0", protocolTag: tag))  // 3000: duplicate
            batch.addRoute(Route(destination: try IPNetwork(parsing: "10.200.0.0/24"), gateway: try IPAddress(parsing: "172.16.9.9"), protocolTag: tag))  // 3001
            batch.replaceNeighbor(.permanent(try IPAddress(parsing: "10.1.0.20"), macAddress: try MACAddress(parsing: "02:00:00:00:00:20")), device: "b0")
            batch.addRoute(Route(destination: try IPNetwork(parsing: "10.201.0.0/24"), device: "missing0"))  // 3003: no such device
            batch.addRoute(Route(destination: try IPNetwork(parsing: "10.202.0.0/24"), device: "b0", protocolTag: tag))
            #expect(batch.count == 3005)
            let failures = try handle.apply(batch)
            #expect(failures.map(\.index) == [3000, 3001, 3003])
            #expect(failures[0].error.isAlreadyExists)
            #expect(failures[1].error.kernelMessage == "Nexthop has invalid gateway")
            #expect(failures[1].error.operation.contains("10.200.0.0/24"))
            #expect(failures[2].error.isNotFound)
            #expect(try handle.routes(protocolTag: tag).count == 3001)
            let output = try namespaces[0].runProcess("/usr/sbin/ip", arguments: ["route", "show", "proto", "92"])
            #expect(output.standardOutputText.split(separator: "\n").count == 3001)
            #expect(try inspect(namespaces[0], ["neigh", "show", "10.1.0.20", "dev", "b0"]).count == 1)

            var removal = NetlinkRequestBatch()
            for route in try handle.routes(protocolTag: tag) { removal.deleteRoute(route) }
            #expect(try handle.apply(removal).isEmpty)
            #expect(try handle.routes(protocolTag: tag).isEmpty)
        }
    }

    @Test("links created and deleted through a batch", .privileged)
    func linkBatch() async throws {
        try await NamespaceFixture.with(count: 1) { namespaces in
            let handle = try NetlinkHandle(namespace: namespaces[0])
            var create = NetlinkRequestBatch()
            for index in 0..<20 { create.addLink(.veth(try InterfaceName("bv\(index)"), peer: try InterfaceName("bp\(index)"))) }
            create.addLink(.veth("bv3", peer: "bpx"))
            let failures = try handle.apply(create)
            #expect(failures.map(\.index) == [20])
            #expect(try inspect(namespaces[0], ["link", "show", "type", "veth"]).count == 40)
            var delete = NetlinkRequestBatch()
            for index in 0..<20 { delete.deleteLink(named: try InterfaceName("bv\(index)")) }
            #expect(try handle.apply(delete).isEmpty)
            #expect(try inspect(namespaces[0], ["link", "show", "type", "veth"]).isEmpty)
        }
    }
}
