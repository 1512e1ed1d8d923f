import Logging
import NIOCore
import NetPrimitives
import Testing
@testable import Mesh

/// A mesh of ``MeshRouter``s in this process on loopback (127.42.x.y, one address per peer,
/// kernel-chosen ports), with short timers. Helpers are namespaced so they do not collide with
/// the other Mesh test files.
///
/// `@unchecked Sendable`: a test uses its mesh from one task at a time (replacing a router
/// happens between waits).
final class RouterTestMesh: @unchecked Sendable {
    var routers: [MeshRouter]
    /// Where each router listens.
    var addresses: [MeshPeerAddress]

    /// `group` tells tests apart (second byte of the address and of the peer names).
    static func make(_ count: Int, group: UInt8, discovery: Bool = false, port: Int = 0, secret: MeshSecret? = nil) async throws -> RouterTestMesh {
        var routers: [MeshRouter] = []
        var addresses: [MeshPeerAddress] = []
        for index in 0..<count {
            let router = makeRouter(index, group: group, discovery: discovery, port: port, secret: secret)
            try await router.start()
            routers.append(router)
            guard let address = await router.node.listeningAddress() else { throw RouterTestFailure("router \(index) does not listen") }
            addresses.append(address)
        }
        return RouterTestMesh(routers: routers, addresses: addresses)
    }

    private init(routers: [MeshRouter], addresses: [MeshPeerAddress]) {
        self.routers = routers
        self.addresses = addresses
    }

    static func name(_ index: Int, group: UInt8) -> PeerName {
        PeerName(rawValue: 0x4200_0000_0000 | UInt64(group) << 24 | UInt64(index + 1))!
    }

    static func address(_ index: Int, group: UInt8) -> IPAddress {
        .v4(IPv4Address(0x7f2a_0000 | UInt32(group) << 8 | UInt32(index + 1)))
    }

    static func makeRouter(
        _ index: Int, group: UInt8, discovery: Bool = false, port: Int = 0, peers: [MeshPeerAddress] = [], secret: MeshSecret? = nil
    ) -> MeshRouter {
        var logger = Logger(label: "mesh-router-test")
        logger.logLevel = .critical
        let identity = PeerIdentity(name: name(index, group: group), nickname: "peer\(index)", uid: UInt64.random(in: 1...UInt64.max))
        let node = MeshConfiguration(
            identity: identity, listen: MeshPeerAddress(address(index, group: group), port: port), dialFromListenAddress: true,
            peers: peers, secret: secret, heartbeatInterval: .milliseconds(200), heartbeatTimeout: .seconds(2),
            acceptBurst: 100, acceptsPerSecond: 1000,
            backoff: ReconnectBackoff(initial: .milliseconds(100), maximum: .milliseconds(500), resetAfter: .seconds(1)),
            connectTimeout: .seconds(2))
        let configuration = MeshRouterConfiguration(
            node: node, discovery: discovery, recalculationQuietPeriod: .milliseconds(20), recalculationMaximumDelay: .milliseconds(200),
            gossipInterval: .milliseconds(500), forgetUnreachableAfter: .seconds(30))
        return MeshRouter(configuration: configuration, logger: logger)
    }

    func name(_ index: Int) -> PeerName { routers[index].localName }

    /// `a` dials `b`.
    func link(_ a: Int, _ b: Int) async { await routers[a].connect(to: addresses[b]) }

    func stop() async {
        for router in routers { await router.stop() }
    }
}

struct RouterTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The expected routes, computed here independently of the engine: BFS distances over the
/// links the test made (two-way), among the peers still running.
struct ExpectedRoutes {
    var adjacency: [Int: Set<Int>] = [:]
    var alive: Set<Int>

    init(count: Int, links: [(Int, Int)]) {
        alive = Set(0..<count)
        for (a, b) in links {
            adjacency[a, default: []].insert(b)
            adjacency[b, default: []].insert(a)
        }
    }

    mutating func kill(_ peer: Int) {
        alive.remove(peer)
    }

    func distances(from source: Int) -> [Int: Int] {
        var distance = [source: 0]
        var queue = [source], head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for next in (adjacency[node] ?? []).sorted() where alive.contains(next) && distance[next] == nil {
                distance[next] = distance[node]! + 1
                queue.append(next)
            }
        }
        return distance
    }

    /// Mismatches of one router's table: a destination reachable with no route or a route not
    /// on a shortest path (wrong next hop or hop count), or an unreachable one with a route.
    func mismatches(_ table: RouteTable, source: Int, mesh: RouterTestMesh) -> [String] {
        let distance = distances(from: source)
        var problems: [String] = []
        for destination in alive.sorted() where destination != source {
            let route = table.unicast[mesh.name(destination)]
            guard let expected = distance[destination] else {
                if route != nil { problems.append("\(source)→\(destination): route but unreachable") }
                continue
            }
            guard let route else { problems.append("\(source)→\(destination): no route (distance \(expected))"); continue }
            guard let hop = (0..<mesh.routers.count).first(where: { mesh.name($0) == route.nextHop }),
                  adjacency[source]?.contains(hop) == true, distances(from: hop)[destination] == expected - 1, route.hops == expected
            else {
                problems.append("\(source)→\(destination): via \(route.nextHop) in \(route.hops) hops, shortest is \(expected)")
                continue
            }
        }
        return problems
    }

    /// Waits (bounded) until every alive router's routes are BFS-correct; the last
    /// mismatches when the time runs out.
    func converge(_ mesh: RouterTestMesh, timeout: Duration = .seconds(20)) async -> [String] {
        var problems: [String] = []
        let reached = await routerEventually(timeout) {
            problems = []
            for source in alive.sorted() {
                problems += mismatches(await mesh.routers[source].routes(), source: source, mesh: mesh)
            }
            return problems.isEmpty
        }
        return reached ? [] : problems
    }
}

/// Polls `condition` every 25 ms until it holds or `timeout` passes; false on timeout.
func routerEventually(_ timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(25))
    }
    return await condition()
}
