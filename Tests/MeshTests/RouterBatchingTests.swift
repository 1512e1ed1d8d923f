import NIOCore
import NetPrimitives
import Testing
@testable import Mesh

/// The runtime's batching, in the router's pure core: local connection changes wait for
/// ``RouterCore/Options/connectionDelay`` and gossip for ``RouterCore/Options/sendDelay``, so a
/// burst costs one entry version and one message per neighbour.
@Suite struct RouterBatchingTests {
    static func core(_ index: Int, connectionDelay: Duration = .milliseconds(100), sendDelay: Duration = .milliseconds(20)) -> RouterCore {
        var options = RouterCore.Options()
        options.discovery = false
        options.connectionDelay = connectionDelay
        options.sendDelay = sendDelay
        return RouterCore(identity: PeerIdentity(name: RouterCoreNetwork.name(index), nickname: "b\(index)", uid: UInt64(index + 1)), options: options)
    }

    static func sends(_ actions: [RouterCore.Action]) -> [(peer: PeerName, payload: [UInt8])] {
        actions.compactMap { if case .send(let peer, _, let payload) = $0 { (peer, payload) } else { nil } }
    }

    @Test func connectionsThatComeUpTogetherCostOneVersion() throws {
        var core = Self.core(0)
        let start = ContinuousClock.now
        var actions: [RouterCore.Action] = []
        for index in 1...4 {
            actions += core.connectionEstablished(peer: RouterCoreNetwork.name(index), address: RouterCoreNetwork.address(index), outbound: true, now: start.advanced(by: .milliseconds(index)))
        }
        #expect(actions.isEmpty, "nothing leaves before the delay")
        #expect(core.engine.localEntry.version == 1)
        #expect(core.deadline == start.advanced(by: .milliseconds(101)))
        #expect(core.tick(now: start.advanced(by: .milliseconds(50))).isEmpty)
        let sent = Self.sends(core.tick(now: start.advanced(by: .milliseconds(101))))
        #expect(core.engine.localEntry.version == 2, "one new version for four connections")
        #expect(sent.map(\.peer).sorted() == (1...4).map(RouterCoreNetwork.name), "one message per neighbour")
        for send in sent {
            let message = try GossipMessage(decoding: ByteBuffer(bytes: send.payload))
            #expect(message.entries.map(\.version) == [2] && message.digest != nil)
        }
    }

    @Test func updatesReceivedTogetherLeaveAsOneMessagePerNeighbour() throws {
        // 0 — 1 — 2 — 3: core 1 gets 0's and 2's entries and forwards them in one batch.
        var cores = (0...3).map { Self.core($0, connectionDelay: .zero, sendDelay: .zero) }
        cores[1] = Self.core(1, connectionDelay: .zero)
        let now = ContinuousClock.now
        let links = [(0, 1), (1, 2), (2, 3)]
        var queue: [(from: Int, to: Int, payload: [UInt8])] = []
        for (a, b) in links {
            for (x, y) in [(a, b), (b, a)] {
                for send in Self.sends(cores[x].connectionEstablished(peer: RouterCoreNetwork.name(y), address: RouterCoreNetwork.address(y), outbound: x < y, now: now)) {
                    queue.append((x, Int(send.peer.rawValue & 0xff), send.payload))
                }
            }
        }
        // Deliver everything except what the middle peer sends, then flush it once.
        var held: [(peer: PeerName, payload: [UInt8])] = []
        var steps = 0
        while !queue.isEmpty, steps < 10_000 {
            steps += 1
            let (from, to, payload) = queue.removeFirst()
            for send in Self.sends(cores[to].received(channel: MeshRouter.topologyChannel, payload: payload, from: RouterCoreNetwork.name(from), now: now)) {
                if to == 1 { held.append(send) } else { queue.append((to, Int(send.peer.rawValue & 0xff), send.payload)) }
            }
        }
        #expect(held.isEmpty, "the middle peer waits for the batch delay")
        let flushed = Self.sends(cores[1].tick(now: now.advanced(by: .milliseconds(20))))
        #expect(!flushed.isEmpty)
        #expect(Set(flushed.map(\.peer)).count == flushed.count, "at most one message per neighbour: \(flushed.map(\.peer))")
    }
}
