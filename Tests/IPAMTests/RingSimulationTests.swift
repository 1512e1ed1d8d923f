import NetPrimitives
import Testing
@testable import IPAM

/// Ring IPAM end to end in one process: peers exchange their messages over ``RingNetwork``
/// (random order and delays, partitions), allocate and release, join and die (and are
/// reclaimed, sometimes by two peers at once). Checked globally: no address is ever held by
/// two containers, and once the network heals every live peer's ring is the same.
@Suite struct RingSimulationTests {
    struct World {
        var network: RingNetwork
        /// Address → container, for every container alive anywhere.
        var handedOut: [UInt32: String] = [:]
        /// Container → the peer that allocated it.
        var holders: [String: RingPeer] = [:]
        var pending: [(peer: RingPeer, container: String)] = []
        var allocated = 0
        var nextContainer = 0
        var nextPeer: Int
        var reclaims: [(dead: RingPeer, due: Int)] = []
        let seed: UInt64

        mutating func record(_ address: IPv4Address, container: String, peer: RingPeer) {
            if let holder = handedOut[address.value], holder != container {
                Issue.record("seed \(seed): \(address) handed to \(container) on \(peer) while \(holder) holds it")
            }
            if holders[container] == nil { allocated += 1 }
            handedOut[address.value] = container
            holders[container] = peer
        }

        /// Tries every pending allocation once.
        mutating func serve() throws {
            var waiting: [(peer: RingPeer, container: String)] = []
            for (peer, container) in pending {
                guard !network.dead.contains(peer) else { continue }
                switch try network.nodes[peer]!.allocate(containerID: container) {
                case .allocated(let address): record(address, container: container, peer: peer)
                case .needsInitialisation:
                    try network.act(peer) { try $0.startInitialisation() }
                    waiting.append((peer, container))
                case .needsDonation:
                    try network.act(peer) { $0.requestDonation() }
                    waiting.append((peer, container))
                }
            }
            pending = waiting
        }

        mutating func kill(_ peer: RingPeer) {
            network.dead.insert(peer)
            for (container, holder) in holders where holder == peer {
                holders[container] = nil
                handedOut = handedOut.filter { $0.value != container }
            }
            pending.removeAll { $0.peer == peer }
            reclaims.append((peer, network.now + network.maxDelay * 6))
        }

        /// Runs the due reclaims (two concurrent reclaimers when possible) once the network is whole.
        mutating func startReclaims() throws {
            guard network.groups.isEmpty else { return }
            for (dead, due) in reclaims where due <= network.now {
                let reclaimers = network.alive.filter { network.nodes[$0]!.ring.isInitialised }.shuffled(using: &network.random).prefix(2)
                for peer in reclaimers { try network.act(peer) { try $0.reclaim(dead, incarnation: 1) } }
            }
            reclaims.removeAll { $0.due <= network.now }
        }
    }

    @Test func fivePeersTwoHundredAllocationsEachWithChurnAndPartitions() throws {
        let seed = ringSeed("ring simulation")
        let peers = (0..<5).map(ringPeer)
        var network = RingNetwork(seed: seed)
        for peer in peers { network.nodes[peer] = try RingNode(me: peer, range: "10.32.0.0/21", initialPeerCount: 5) }
        var world = World(network: network, nextPeer: 5, seed: seed)
        var iterations = 0
        while world.allocated < 1000 {
            iterations += 1
            guard iterations < 400_000 else { Issue.record("seed \(seed): stuck at \(world.allocated) allocations"); return }
            let roll = Int.random(in: 0..<1000, using: &world.network.random)
            let alive = world.network.alive
            switch roll {
            case 0..<120 where world.allocated + world.pending.count < 1000:
                let peer = alive.randomElement(using: &world.network.random)!
                world.pending.append((peer, "c\(world.nextContainer)"))
                world.nextContainer += 1
            case 120..<150:
                guard let (container, peer) = world.holders.randomElement(using: &world.network.random) else { break }
                if let address = world.network.nodes[peer]!.release(containerID: container) {
                    world.handedOut[address.value] = nil
                }
                world.holders[container] = nil
            case 150..<200: try world.serve()
            case 200..<215: world.network.gossipRound()
            case 215..<220: try world.network.retryAll()
            case 220..<223:
                if world.network.groups.isEmpty {
                    let split = Int.random(in: 1..<alive.count, using: &world.network.random)
                    let shuffled = alive.shuffled(using: &world.network.random)
                    for (index, peer) in shuffled.enumerated() { world.network.groups[peer] = index < split ? 0 : 1 }
                } else {
                    world.network.groups = [:]
                }
            case 223..<225 where world.nextPeer < 9:
                let peer = ringPeer(world.nextPeer)
                world.nextPeer += 1
                world.network.nodes[peer] = try RingNode(me: peer, range: "10.32.0.0/21", initialPeerCount: 5)
            case 225..<227 where alive.count > 4 && world.reclaims.isEmpty && world.network.nodes[alive[0]]!.ring.isInitialised:
                world.kill(alive.randomElement(using: &world.network.random)!)
            case 227..<240: try world.startReclaims()
            default:
                _ = try world.network.step()
            }
        }
        // Heal, finish the reclaims, gossip until every live ring is the same.
        world.network.groups = [:]
        world.reclaims = []
        let reclaimer = world.network.alive.first { world.network.nodes[$0]!.ring.isInitialised }!
        for dead in world.network.dead.sorted() { try world.network.act(reclaimer) { try $0.reclaim(dead, incarnation: 1) } }
        var converged = false
        for _ in 0..<50 {
            try world.network.drain()
            try world.network.retryAll()
            try world.network.drain()
            world.network.gossipRound()
            try world.network.drain()
            let rings = world.network.alive.map { world.network.nodes[$0]!.ring }
            if rings.allSatisfy({ $0 == rings[0] }) && world.network.alive.allSatisfy({ !world.network.nodes[$0]!.isProposing }) {
                converged = true
                break
            }
        }
        #expect(converged, "seed \(seed): rings did not converge")
        let ring = world.network.nodes[world.network.alive[0]]!.ring
        var seen: [UInt32: String] = [:]
        for peer in world.network.alive {
            let node = world.network.nodes[peer]!
            #expect(node.strayAllocations.isEmpty, "seed \(seed): \(peer) holds addresses outside its ranges")
            for (container, address) in node.allocations {
                #expect(seen[address] == nil, "seed \(seed): \(IPv4Address(address)) held twice")
                seen[address] = container
                #expect(ring.owner(of: UInt64(address)) == peer, "seed \(seed): \(container) not in \(peer)'s ranges")
                #expect(ring.isUsable(UInt64(address)))
            }
        }
        // Dead peers own nothing any more.
        for dead in world.network.dead { #expect(ring.ranges(ownedBy: dead).isEmpty, "seed \(seed): \(dead) still owns space") }
        print("ring simulation: seed \(seed), \(world.allocated) allocations, \(world.network.dead.count) deaths, \(world.nextPeer - 5) joins, \(ring.entries.count) tokens")
    }
}
