#if canImport(Glibc)
import Glibc
#endif
import NetPrimitives
import Testing
import TestSupport
@testable import IPAM
@testable import IPAMCore

/// The ring tests' deterministic generator, so a failing seed replays.
typealias RingRandom = SplitMix64

/// The seed of a randomized ring test: `RING_SEED=<n>` replays one; otherwise a fresh one.
/// Printed so a failure can be replayed.
func ringSeed(_ test: String) -> UInt64 {
    let seed: UInt64
    if let text = ProcessInfoShim.environment("RING_SEED"), let value = UInt64(text) { seed = value } else {
        seed = UInt64.random(in: 0...UInt64.max)
    }
    print("\(test): seed \(seed) (replay with RING_SEED=\(seed))")
    return seed
}

enum ProcessInfoShim {
    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

func ringPeer(_ index: Int) -> RingPeer { RingPeer(name: 0x0a00_0000_0000 + UInt64(index), nickname: "peer\(index)") }

/// An in-process message network between ring nodes: random delivery order and delays,
/// partitions (messages between groups are dropped), dead peers (receive nothing, send
/// nothing). Every handled message's outputs go back into the network.
struct RingNetwork {
    var nodes: [RingPeer: RingNode] = [:]
    var dead: Set<RingPeer> = []
    /// Peer → partition group; peers in different groups cannot talk. Empty: no partition.
    var groups: [RingPeer: Int] = [:]
    var inFlight: [(due: Int, envelope: RingEnvelope)] = []
    var now = 0
    var maxDelay = 4
    /// Percentage of messages lost.
    var dropPercent = 0
    var random: RingRandom

    init(seed: UInt64) { random = RingRandom(seed: seed) }

    var alive: [RingPeer] { nodes.keys.filter { !dead.contains($0) }.sorted() }

    func canTalk(_ a: RingPeer, _ b: RingPeer) -> Bool { groups.isEmpty || groups[a] == groups[b] }

    /// Queues `envelopes` (broadcasts expanded to every other peer) with random delays.
    mutating func send(_ envelopes: [RingEnvelope]) {
        for envelope in envelopes {
            let targets = envelope.to.map { [$0] } ?? nodes.keys.filter { $0 != envelope.from }.sorted()
            for target in targets {
                var copy = envelope
                copy.to = target
                inFlight.append((now + Int.random(in: 1...maxDelay, using: &random), copy))
            }
        }
    }

    /// Runs `body` on the node of `peer` and sends what it returns.
    mutating func act(_ peer: RingPeer, _ body: (inout RingNode) throws -> [RingEnvelope]) throws {
        guard !dead.contains(peer) else { return }
        let output = try body(&nodes[peer]!)
        send(output)
    }

    /// Delivers one due message chosen at random (advancing time when none is due). Returns
    /// false when nothing is in flight.
    mutating func step() throws -> Bool {
        guard !inFlight.isEmpty else { return false }
        var due = inFlight.indices.filter { inFlight[$0].due <= now }
        while due.isEmpty {
            now += 1
            due = inFlight.indices.filter { inFlight[$0].due <= now }
        }
        let index = due.randomElement(using: &random)!
        let envelope = inFlight.remove(at: index).envelope
        let target = envelope.to!
        guard !dead.contains(target), !dead.contains(envelope.from), canTalk(envelope.from, target) else { return true }
        if dropPercent > 0, Int.random(in: 0..<100, using: &random) < dropPercent { return true }
        try act(target) { try $0.receive(envelope) }
        return true
    }

    /// Delivers until nothing is in flight (bounded).
    mutating func drain(limit: Int = 200_000) throws {
        var steps = 0
        while try step() {
            steps += 1
            if steps > limit { Issue.record("network did not quiesce"); return }
        }
    }

    /// Every live peer broadcasts its ring.
    mutating func gossipRound() {
        for peer in alive { send([nodes[peer]!.gossip()]) }
    }

    /// Every live peer retries its undecided proposals.
    mutating func retryAll() throws {
        for peer in alive { try act(peer) { try $0.retry() } }
    }
}

/// Unbuffered progress output for `RING_TRACE=1` runs.
func ringTrace(_ text: String) {
    _ = text.withCString { write(2, $0, strlen($0)) }
}
