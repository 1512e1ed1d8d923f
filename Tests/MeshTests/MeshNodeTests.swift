import Foundation
import NIOCore
import NetPrimitives
import Testing
@testable import Mesh

/// Many nodes in one process on 127.0.0.x (free ports), real TCP, short timers.
@Suite struct MeshNodeTests {
    func address(_ node: MeshNode) async throws -> MeshPeerAddress {
        try #require(await node.listeningAddress())
    }

    func connected(_ node: MeshNode, _ count: Int, within timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout) { await node.connectedPeers().count == count }
    }

    @Test func fullMeshCarriesGossipEncrypted() async throws {
        let secret = MeshSecret.generate()
        let nodes = (0..<4).map { makeNode(10 + UInt64($0), secret: secret) }
        for node in nodes { try await node.start() }
        defer { Task { for node in nodes { await node.stop() } } }
        let gossip = nodes[3].gossip()
        for (index, node) in nodes.enumerated() {
            for other in nodes[..<index] { await node.connect(to: try await address(other)) }
        }
        for node in nodes { #expect(await connected(node, 3)) }
        let status = await nodes[0].status()
        #expect(status.connections.count == 3)
        #expect(status.connections.allSatisfy { $0.encrypted && $0.state == .established && $0.protocolVersion == 1 })
        try await nodes[0].send([1, 2, 3], channel: "topology", to: nodes[3].configuration.identity.name)
        let message = try await withTimeout(.seconds(10), "gossip arrives") { () -> MeshGossipMessage? in
            for await message in gossip { return message }
            return nil
        }
        #expect(message?.from == nodes[0].configuration.identity)
        #expect(message?.channel == "topology" && message?.payload == [1, 2, 3])
        #expect(await nodes[0].dataChannel(for: nodes[1].configuration.identity.name) != nil)
        await #expect(throws: MeshError.self) {
            try await nodes[0].send([1], channel: "x", to: PeerName(rawValue: 0x99)!)
        }
    }

    @Test func lineStaysUpOnHeartbeatsAndDetectsAStoppedPeer() async throws {
        let nodes = (0..<3).map { makeNode(20 + UInt64($0)) }
        for node in nodes { try await node.start() }
        defer { Task { for node in nodes { await node.stop() } } }
        await nodes[1].connect(to: try await address(nodes[0]))
        await nodes[2].connect(to: try await address(nodes[1]))
        #expect(await connected(nodes[1], 2))
        #expect(await connected(nodes[0], 1))
        #expect(await connected(nodes[2], 1))
        // Several heartbeat timeouts (600 ms) pass: heartbeats keep the line up.
        let events = nodes[1].events()
        try await Task.sleep(for: .seconds(2))
        #expect(await nodes[1].connectedPeers().count == 2)
        await nodes[2].stop()
        let lost = try await withTimeout(.seconds(5), "loss of the stopped peer") { () -> MeshConnectionEvent? in
            for await event in events { if case .lost = event { return event } }
            return nil
        }
        guard case .lost(let peer, _) = lost else { Issue.record("no lost event"); return }
        #expect(peer == nodes[2].configuration.identity)
        #expect(await nodes[1].connectedPeers().map(\.name) == [nodes[0].configuration.identity.name])
    }

    @Test func silentPeerIsDroppedByTheHeartbeatTimeout() async throws {
        // The quiet node sends no heartbeats for an hour; the watcher times it out. How fast is
        // for the benchmarks: here, the loss comes from the heartbeat timeout (not before it can
        // have passed) and comes at all (within a bound far beyond it, for a loaded machine).
        let timeout = Duration.milliseconds(500)
        let watcher = makeNode(30, heartbeatInterval: .milliseconds(100), heartbeatTimeout: .milliseconds(500))
        let quiet = makeNode(31, heartbeatInterval: .seconds(3600), heartbeatTimeout: .seconds(3600))
        try await watcher.start()
        try await quiet.start()
        defer { Task { await watcher.stop(); await quiet.stop() } }
        let events = watcher.events()
        let clock = ContinuousClock()
        let dialed = clock.now
        await quiet.connect(to: try await address(watcher))
        let outcome = try await withTimeout(timeout * 10 + .seconds(30), "heartbeat timeout") { () -> (MeshCloseReason, ContinuousClock.Instant)? in
            var established = false
            for await event in events {
                switch event {
                case .established: established = true
                case .lost(_, let reason) where established: return (reason, clock.now)
                default: continue
                }
            }
            return nil
        }
        let (reason, lostAt) = try #require(outcome)
        #expect(reason.kind == .heartbeatTimeout)
        // The connection was dialed after `dialed`, so a loss caused by 500 ms of silence
        // cannot come sooner than 500 ms after it.
        #expect(lostAt - dialed >= timeout)
    }

    @Test func restartedPeerIsReconnectedWithBackoff() async throws {
        // A real agent listens on a configured port, never an ephemeral one: once a stopped node
        // frees an ephemeral port, any socket in the process may get it. So this node takes a
        // random port below the ephemeral range (32768 up) and its restart rebinds it.
        var first = makeNode(40)
        var port = 0
        for attempt in 1...20 {
            port = Int.random(in: 20_000..<32_000)
            first = makeNode(40, port: port)
            do {
                try await first.start()
                break
            } catch where attempt < 20 {
                continue
            }
        }
        let dialer = makeNode(41, peers: [try await address(first)])
        try await dialer.start()
        defer { Task { await dialer.stop() } }
        #expect(await connected(dialer, 1))
        await first.stop()
        #expect(await connected(dialer, 0, within: .seconds(10)))
        // While it is down the target waits with a backoff and records why.
        #expect(await eventually(.seconds(10)) { await dialer.status().targets.first?.lastError != nil })
        let restarted = makeNode(40, port: port)
        try await restarted.start()
        defer { Task { await restarted.stop() } }
        #expect(await eventually(.seconds(20)) {
            await dialer.connectedPeers().first?.uid == restarted.configuration.identity.uid
        })
        #expect(await dialer.status().targets.first?.state == .connected)
    }

    @Test func simultaneousDialsResolveToOneConnection() async throws {
        let low = makeNode(50)
        let high = makeNode(51)
        try await low.start()
        try await high.start()
        defer { Task { await low.stop(); await high.stop() } }
        async let one: Void = low.connect(to: try await address(high))
        async let two: Void = high.connect(to: try await address(low))
        _ = try await (one, two)
        #expect(await connected(low, 1))
        #expect(await connected(high, 1))
        // Settles on one connection on both ends: the one the lower name dialed.
        #expect(await eventually(.seconds(5)) {
            let lowCount = await low.status().connections.count
            let highCount = await high.status().connections.count
            return lowCount == 1 && highCount == 1
        })
        try await Task.sleep(for: .milliseconds(500))
        let lowStatus = await low.status()
        #expect(lowStatus.connections.count == 1 && lowStatus.connections.first?.outbound == true)
        #expect(await high.status().connections.first?.outbound == false)
        #expect(await low.connectedPeers().count == 1)
    }

    @Test func rekeyingKeepsTrafficFlowing() async throws {
        let secret = MeshSecret.generate()
        let policy = RekeyPolicy(afterRecords: 3, afterTime: nil, grace: .seconds(5))
        let a = makeNode(80, secret: secret, rekey: policy)
        let b = makeNode(81, secret: secret, rekey: policy)
        try await a.start()
        try await b.start()
        defer { Task { await a.stop(); await b.stop() } }
        let gossip = b.gossip()
        await a.connect(to: try await address(b))
        #expect(await eventually { await a.connectedPeers().count == 1 })
        #expect(await eventually { await b.connectedPeers().count == 1 })
        for index in 0..<20 { try await a.send([UInt8(index)], channel: "c", to: b.configuration.identity.name) }
        let received = try await withTimeout(.seconds(10), "20 messages across several key generations") { () -> [UInt8] in
            var payloads: [UInt8] = []
            for await message in gossip {
                payloads += message.payload
                if payloads.count == 20 { break }
            }
            return payloads
        }
        #expect(received == Array(0..<20))
        let counters = await b.status().counters
        #expect(counters.recordsTampered == 0 && counters.recordsStaleGeneration == 0)
    }

    @Test func statusIsCodable() async throws {
        let a = makeNode(82)
        let b = makeNode(83)
        try await b.start()
        await a.connect(to: try await address(b))  // before start: dialed at start
        try await a.start()
        defer { Task { await a.stop(); await b.stop() } }
        #expect(await eventually { await a.connectedPeers().count == 1 })
        let status = await a.status()
        let json = try JSONEncoder().encode(status)
        #expect(try JSONDecoder().decode(MeshNodeStatus.self, from: json) == status)
        #expect(String(decoding: json, as: UTF8.self).contains("\"encrypted\":false"))
        #expect(status.targets.first?.state == .connected)
    }
}
