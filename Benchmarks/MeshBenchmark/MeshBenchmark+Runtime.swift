import Logging
import Mesh
import NIOCore
import NIOPosix
import NetPrimitives

extension MeshBenchmark {
    /// N routers on loopback: start them, dial a ring plus random chords, wait until every
    /// peer routes to every other, check the routes against an independent BFS, then add one
    /// connection and count the gossip bytes it causes.
    static func runtimeRow(peers count: Int, options: Options, log: @escaping @Sendable (String) -> Void) async throws -> Row {
        let secret = MeshSecret.generate()
        let listen = try IPAddress(parsing: options.address)
        var routers: [MeshRouter] = []
        var logger = Logger(label: "mesh-bench")
        logger.logLevel = .warning
        for index in 0..<count {
            let identity = PeerIdentity(name: name(index), nickname: "bench-\(index)", uid: UInt64.random(in: 1...UInt64.max))
            let node = MeshConfiguration(identity: identity, listen: MeshPeerAddress(listen, port: 0), secret: secret)
            // No periodic anti-entropy during the run: the bytes counted are what the change caused.
            let configuration = MeshRouterConfiguration(node: node, discovery: false, gossipInterval: .seconds(3600))
            routers.append(MeshRouter(configuration: configuration, logger: logger))
        }
        do {
            let row = try await measure(routers, options: options, log: log)
            for router in routers { await router.stop() }
            return row
        } catch {
            for router in routers { await router.stop() }
            throw error
        }
    }

    private static func measure(_ routers: [MeshRouter], options: Options, log: @escaping @Sendable (String) -> Void) async throws -> Row {
        let count = routers.count
        var addresses: [MeshPeerAddress] = []
        for router in routers {
            try await router.start()
            guard let address = await router.node.listeningAddress() else { throw MeshBenchmarkError(description: "a node did not listen") }
            addresses.append(address)
        }
        var random = SeededRandom(seed: options.seed)
        var links = Set<Link>()
        for index in 0..<count {
            links.insert(Link(index, (index + 1) % count))
            var tries = 0
            while links.filter({ $0.low == index || $0.high == index }).count < options.dialsPerPeer + 1, tries < 50 {
                tries += 1
                let other = Int(random.next() % UInt64(count))
                if other != index { links.insert(Link(index, other)) }
            }
        }
        let dials = links.sorted { ($0.low, $0.high) < ($1.low, $1.high) }
        let residentBefore = residentMiB()
        log("runtime \(count) peers: \(dials.count) connections, \(oneDecimal(residentBefore)) MiB before dialing")

        let clock = ContinuousClock()
        let start = clock.now
        for link in dials { await routers[link.low].connect(to: addresses[link.high]) }
        // Converged: every peer's next hop to every other lies on a shortest path (BFS here).
        // A mesh that does not get there in time is reported (convergence -1), not thrown away.
        var lastReport = clock.now
        var wrongAtEnd = 0
        while true {
            wrongAtEnd = await wrongRoutes(routers, links: links, count: count)
            if wrongAtEnd == 0 || clock.now >= start + options.timeout { break }
            if clock.now - lastReport > .seconds(5) {
                lastReport = clock.now
                let known = await knownRoutes(routers)
                log("  \(count - wrongAtEnd)/\(count) peers have correct routes to all others; routes known: \(known.fewest)–\(known.most) of \(count - 1)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let convergence: Duration = wrongAtEnd == 0 ? clock.now - start : .seconds(-1)
        let resident = residentMiB()
        var coldStart = MeshRouterCounters()
        for router in routers {
            let counters = await router.counters()
            coldStart.topologyMessagesSent += counters.topologyMessagesSent
            coldStart.topologyBytesSent += counters.topologyBytesSent
            coldStart.topologyEntriesSent += counters.topologyEntriesSent
            coldStart.topologyPatchesSent += counters.topologyPatchesSent
            coldStart.topologyDigestsSent += counters.topologyDigestsSent
            coldStart.topologyDigestBytesSent += counters.topologyDigestBytesSent
            coldStart.topologyWantsSent += counters.topologyWantsSent
            coldStart.recalculations += counters.recalculations
        }
        log("runtime \(count) peers: cold start sent \(coldStart.topologyMessagesSent) topology messages, \(coldStart.topologyBytesSent) B: \(coldStart.topologyEntriesSent) entries, \(coldStart.topologyPatchesSent) patches, \(coldStart.topologyDigestsSent) digests (\(coldStart.topologyDigestBytesSent) B), \(coldStart.topologyWantsSent) wants; \(coldStart.recalculations) route recalculations")
        let wrong = wrongAtEnd

        // One topology change: a new connection between two peers that were not linked.
        try await waitForQuiet(routers, clock: clock)
        let before = await totals(routers)
        var a = 0, b = 0
        repeat {
            a = Int(random.next() % UInt64(count))
            b = Int(random.next() % UInt64(count))
        } while a == b || links.contains(Link(a, b))
        await routers[a].connect(to: addresses[b])
        let peerB = name(b)
        try await waitUntil(clock: clock, deadline: clock.now + .seconds(60), what: "the new connection") {
            await routers[a].routes().unicast[peerB]?.hops == 1
        }
        try await waitForQuiet(routers, clock: clock)
        let after = await totals(routers)
        let full = await routers[0].status().topology
        let fullBytes = GossipMessage(entries: full.peers.map {
            PeerEntry(identity: PeerIdentity(name: $0.name, nickname: $0.nickname, uid: $0.uid), version: $0.version, shortID: $0.shortID, connections: $0.connections)
        }).encodedSize
        var row = Row(
            kind: "runtime", peers: count, connections: dials.count, convergenceMilliseconds: milliseconds(convergence),
            changeBytes: after.bytes - before.bytes, changeMessages: after.messages - before.messages,
            fullTopologyBytes: fullBytes, residentMiB: resident, residentBeforeDialingMiB: residentBefore, wrongRoutes: wrong)
        if options.idle > .zero {
            // Idle: the converged mesh with nothing changing (heartbeats and timers only).
            let cpuBefore = processCPUTime(), wallBefore = clock.now
            try await Task.sleep(for: options.idle)
            let cpu = processCPUTime() - cpuBefore, wall = clock.now - wallBefore
            row.idleResidentMiB = residentMiB()
            row.idleCPUPercent = milliseconds(cpu) / milliseconds(wall) * 100
        }
        return row
    }

    static func name(_ index: Int) -> PeerName { PeerName(rawValue: 0x5e_be_0000_0000 | UInt64(index + 1))! }

    struct Link: Hashable {
        let low: Int, high: Int
        init(_ a: Int, _ b: Int) { (low, high) = a < b ? (a, b) : (b, a) }
    }

    /// Topology bytes and messages sent by all routers so far.
    static func totals(_ routers: [MeshRouter]) async -> (bytes: Int, messages: Int) {
        var bytes = 0, messages = 0
        for router in routers {
            let counters = await router.counters()
            bytes += counters.topologyBytesSent
            messages += counters.topologyMessagesSent
        }
        return (bytes, messages)
    }

    /// Waits until no router sent topology gossip for 500 ms (at most 30 s).
    static func waitForQuiet(_ routers: [MeshRouter], clock: ContinuousClock) async throws {
        var last = await totals(routers).messages
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            let now = await totals(routers).messages
            if now == last { return }
            last = now
        }
    }

    /// The fewest and most unicast routes any router holds.
    static func knownRoutes(_ routers: [MeshRouter]) async -> (fewest: Int, most: Int) {
        var fewest = Int.max, most = 0
        for router in routers {
            let count = await router.routes().unicast.count
            fewest = min(fewest, count)
            most = max(most, count)
        }
        return (fewest, most)
    }

    static func waitUntil(clock: ContinuousClock, deadline: ContinuousClock.Instant, what: String, _ condition: () async -> Bool) async throws {
        while await !condition() {
            guard clock.now < deadline else { throw MeshBenchmarkError(description: "timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Peers whose route to some destination is not on a shortest path (BFS over the links).
    static func wrongRoutes(_ routers: [MeshRouter], links: Set<Link>, count: Int) async -> Int {
        var adjacency = [[Int]](repeating: [], count: count)
        for link in links {
            adjacency[link.low].append(link.high)
            adjacency[link.high].append(link.low)
        }
        var distance = [[Int]](repeating: [], count: count)
        for source in 0..<count { distance[source] = bfs(adjacency, from: source) }
        var wrong = 0
        for (source, router) in routers.enumerated() {
            let table = await router.routes()
            let ok = (0..<count).allSatisfy { destination in
                guard destination != source else { return true }
                guard let hop = table.nextHop(to: name(destination)), let index = Int(exactly: hop.rawValue & 0xffff_ffff).map({ $0 - 1 }),
                      adjacency[source].contains(index)
                else { return false }
                return distance[index][destination] == distance[source][destination] - 1
            }
            if !ok { wrong += 1 }
        }
        return wrong
    }

    static func bfs(_ adjacency: [[Int]], from source: Int) -> [Int] {
        var distance = [Int](repeating: Int.max, count: adjacency.count)
        distance[source] = 0
        var queue = [source], head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for next in adjacency[node] where distance[next] == Int.max {
                distance[next] = distance[node] + 1
                queue.append(next)
            }
        }
        return distance
    }
}

/// SplitMix64: the same dials for the same seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
