import Foundation
import Testing
@testable import Mesh

/// Many routers in this process over real TCP on loopback, no root: shapes converge to the
/// BFS-correct next hops (computed here, not by the engine), a killed peer is routed around,
/// a partition heals, discovery fills a mesh, routed messages arrive.
@Suite(.serialized) struct MeshRouterLoopbackTests {
    /// Builds `count` routers, makes `links` (first dials second) and waits for correct routes.
    func converged(_ count: Int, group: UInt8, links: [(Int, Int)]) async throws -> (RouterTestMesh, ExpectedRoutes) {
        let mesh = try await RouterTestMesh.make(count, group: group)
        for (a, b) in links { await mesh.link(a, b) }
        let expected = ExpectedRoutes(count: count, links: links)
        let problems = await expected.converge(mesh)
        #expect(problems.isEmpty, "\(problems)")
        return (mesh, expected)
    }

    @Test func fullMeshConverges() async throws {
        let links = (0..<5).flatMap { a in (a + 1..<5).map { (a, $0) } }
        let (mesh, _) = try await converged(5, group: 1, links: links)
        for index in 0..<5 { #expect(await mesh.routers[index].routes().unicast.values.allSatisfy { $0.hops == 1 }) }
        await mesh.stop()
    }

    @Test func lineConverges() async throws {
        let (mesh, _) = try await converged(6, group: 2, links: (0..<5).map { ($0, $0 + 1) })
        #expect(await mesh.routers[0].nextHop(to: mesh.name(5)) == mesh.name(1))
        #expect(await mesh.routers[0].routes().unicast[mesh.name(5)]?.hops == 5)
        await mesh.stop()
    }

    @Test func ringConverges() async throws {
        let (mesh, _) = try await converged(7, group: 3, links: (0..<7).map { ($0, ($0 + 1) % 7) })
        #expect(await mesh.routers[0].nextHop(to: mesh.name(2)) == mesh.name(1))
        #expect(await mesh.routers[0].nextHop(to: mesh.name(5)) == mesh.name(6))
        await mesh.stop()
    }

    @Test func starConverges() async throws {
        let (mesh, _) = try await converged(6, group: 4, links: (1..<6).map { ($0, 0) })
        for leaf in 1..<6 {
            for other in 1..<6 where other != leaf {
                #expect(await mesh.routers[leaf].nextHop(to: mesh.name(other)) == mesh.name(0))
            }
        }
        await mesh.stop()
    }

    @Test func killedPeerIsRoutedAround() async throws {
        var (mesh, expected) = try await converged(6, group: 5, links: (0..<6).map { ($0, ($0 + 1) % 6) })
        #expect(await mesh.routers[1].nextHop(to: mesh.name(3)) == mesh.name(2))
        await mesh.routers[2].stop()
        expected.kill(2)
        let problems = await expected.converge(mesh)
        #expect(problems.isEmpty, "\(problems)")
        #expect(await mesh.routers[1].nextHop(to: mesh.name(3)) == mesh.name(0))
        #expect(await mesh.routers[1].routes().unicast[mesh.name(3)]?.hops == 4)
        await mesh.stop()
    }

    /// Two triangles joined only by a bridge peer: stopping it splits the mesh (no routes
    /// across), a new bridge (new incarnation, same name) heals it.
    @Test func partitionHeals() async throws {
        let links = [(0, 1), (1, 2), (2, 0), (4, 5), (5, 6), (6, 4), (3, 2), (3, 4)]
        var (mesh, expected) = try await converged(7, group: 6, links: links)
        #expect(await mesh.routers[0].nextHop(to: mesh.name(6)) == mesh.name(2))
        await mesh.routers[3].stop()
        expected.kill(3)
        var problems = await expected.converge(mesh)
        #expect(problems.isEmpty, "split: \(problems)")
        #expect(await mesh.routers[0].nextHop(to: mesh.name(5)) == nil)

        let bridge = RouterTestMesh.makeRouter(3, group: 6, peers: [mesh.addresses[2], mesh.addresses[4]])
        try await bridge.start()
        mesh.routers[3] = bridge
        expected.alive.insert(3)
        problems = await expected.converge(mesh)
        #expect(problems.isEmpty, "healed: \(problems)")
        #expect(await mesh.routers[0].nextHop(to: mesh.name(6)) == mesh.name(2))
        await mesh.stop()
    }

    /// With discovery on, a star becomes a full mesh: the leaves learn each other's addresses
    /// from the hub's connections and dial them.
    @Test func discoveryConnectsPeersLearnedThroughGossip() async throws {
        let mesh = try await RouterTestMesh.make(5, group: 7, discovery: true, port: MeshPeerAddress.defaultPort)
        for leaf in 1..<5 { await mesh.link(0, leaf) }
        let full = await routerEventually(.seconds(20)) {
            for router in mesh.routers {
                let routes = await router.routes()
                guard routes.unicast.count == 4, routes.unicast.values.allSatisfy({ $0.hops == 1 }) else { return false }
            }
            return true
        }
        #expect(full)
        await mesh.stop()
    }

    @Test func routedMessagesCrossTheMesh() async throws {
        let (mesh, _) = try await converged(4, group: 8, links: [(0, 1), (1, 2), (2, 3)])
        let atThree = RoutedMessageBox()
        let testStream = await mesh.routers[3].messages(channel: "test")
        let received = (0..<4).map { _ in RoutedMessageBox() }
        var listeners: [Task<Void, Never>] = [Task { for await message in testStream { atThree.add(message) } }]
        for index in 0..<4 {
            let stream = await mesh.routers[index].messages(channel: "bulletin")
            let box = received[index]
            listeners.append(Task { for await message in stream { box.add(message) } })
        }
        try await mesh.routers[0].send(Array("hello".utf8), channel: "test", to: mesh.name(3))
        #expect(await routerEventually { atThree.count == 1 })
        #expect(atThree.messages.first?.origin == mesh.name(0))
        #expect(atThree.messages.first?.payload == Array("hello".utf8))

        try await mesh.routers[1].broadcast([1, 2, 3], channel: "bulletin")
        let all = await routerEventually { received.enumerated().allSatisfy { $0.offset == 1 || $0.element.count == 1 } }
        #expect(all)
        try await Task.sleep(for: .milliseconds(200))
        #expect(received.map(\.count) == [1, 0, 1, 1], "each peer but the origin receives a broadcast once")

        await #expect(throws: MeshError.self) {
            try await mesh.routers[0].send([0], channel: "test", to: PeerName(rawValue: 0x0bad)!)
        }
        for listener in listeners { listener.cancel() }
        let counters = await mesh.routers[1].counters()
        #expect(counters.routedRelayed >= 1)
        await mesh.stop()
    }

    @Test func statusAndRouteChanges() async throws {
        let mesh = try await RouterTestMesh.make(3, group: 9)
        let changes = await mesh.routers[0].routeChanges()
        let diffs = DiffBox()
        let listener = Task { for await diff in changes { diffs.add(diff) } }
        #expect(await routerEventually { diffs.all.count == 1 })
        #expect(diffs.all.first?.isEmpty == true, "the first diff is the (empty) table")
        await mesh.link(0, 1)
        await mesh.link(1, 2)
        let reached = await routerEventually(.seconds(20)) {
            Set(diffs.all.flatMap(\.unicastChanged.keys)) == [mesh.name(1), mesh.name(2)]
        }
        #expect(reached)
        listener.cancel()

        let status = await mesh.routers[1].status()
        #expect(status.node.connections.count == 2)
        #expect(status.node.connections.allSatisfy { $0.state == .established })
        #expect(status.topology.peers.count == 3)
        #expect(status.topology.routes.map(\.destination) == [mesh.name(0), mesh.name(2)])
        let json = try JSONEncoder().encode(status)
        let decoded = try JSONDecoder().decode(MeshRouterStatus.self, from: json)
        #expect(decoded.topology == status.topology)
        await mesh.stop()
    }
}

/// Collects what listener tasks receive. `@unchecked Sendable`: guarded by the lock.
final class RoutedMessageBox: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [MeshRoutedMessage] = []
    func add(_ message: MeshRoutedMessage) { lock.withLock { received.append(message) } }
    var messages: [MeshRoutedMessage] { lock.withLock { received } }
    var count: Int { messages.count }
}

/// Collects route diffs. `@unchecked Sendable`: guarded by the lock.
final class DiffBox: @unchecked Sendable {
    private let lock = NSLock()
    private var diffs: [RouteTableDiff] = []
    func add(_ diff: RouteTableDiff) { lock.withLock { diffs.append(diff) } }
    var all: [RouteTableDiff] { lock.withLock { diffs } }
}
