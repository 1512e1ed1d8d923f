import NetPrimitives
import Testing
@testable import Mesh

/// Routers' pure cores wired to each other in memory (no sockets, a clock of our own): what
/// they send, deliver, publish and dial.
struct RouterCoreNetwork {
    var cores: [PeerName: RouterCore] = [:]
    var queue: [(from: PeerName, to: PeerName, channel: String, payload: [UInt8])] = []
    var delivered: [PeerName: [MeshRoutedMessage]] = [:]
    var published: [PeerName: [RouteTableDiff]] = [:]
    var dials: [PeerName: [MeshPeerAddress]] = [:]
    var forgotten: [PeerName: [MeshPeerAddress]] = [:]
    var now = ContinuousClock.now

    static func name(_ index: Int) -> PeerName { PeerName(rawValue: 0x7700_0000_0000 | UInt64(index))! }
    static func address(_ index: Int) -> MeshPeerAddress { MeshPeerAddress(.v4(IPv4Address(10, 0, 0, UInt8(index)))) }

    init(count: Int, discovery: Bool = false, connectionLimit: Int = 100) {
        for index in 0..<count {
            var options = RouterCore.Options()
            options.discovery = discovery
            options.connectionLimit = connectionLimit
            let identity = PeerIdentity(name: Self.name(index), nickname: "core\(index)", uid: UInt64(index + 1))
            cores[Self.name(index)] = RouterCore(identity: identity, options: options)
        }
    }

    mutating func perform(_ actions: [RouterCore.Action], at peer: PeerName) {
        for action in actions {
            switch action {
            case .send(let to, let channel, let payload): queue.append((peer, to, channel, payload))
            case .deliver(let message): delivered[peer, default: []].append(message)
            case .routesChanged(let diff): published[peer, default: []].append(diff)
            case .connect(let address): dials[peer, default: []].append(address)
            case .forget(let address): forgotten[peer, default: []].append(address)
            }
        }
    }

    /// `a` dialed `b`: both ends report the connection established.
    mutating func connect(_ a: Int, _ b: Int) {
        let (x, y) = (Self.name(a), Self.name(b))
        perform(cores[x]!.connectionEstablished(peer: y, address: Self.address(b), outbound: true, now: now), at: x)
        perform(cores[y]!.connectionEstablished(peer: x, address: MeshPeerAddress(Self.address(a).address, port: 40000 + a), outbound: false, now: now), at: y)
    }

    mutating func disconnect(_ a: Int, _ b: Int) {
        let (x, y) = (Self.name(a), Self.name(b))
        perform(cores[x]!.connectionLost(peer: y, now: now), at: x)
        perform(cores[y]!.connectionLost(peer: x, now: now), at: y)
    }

    /// Delivers queued bytes (only over connections both ends hold) until none are left, then
    /// lets every recalculation fall due.
    mutating func settle() {
        while !queue.isEmpty {
            let (from, to, channel, payload) = queue.removeFirst()
            guard cores[to]!.connections[from] != nil else { continue }
            perform(cores[to]!.received(channel: channel, payload: payload, from: from, now: now), at: to)
        }
        now = now.advanced(by: .seconds(1))
        for name in cores.keys.sorted() { perform(cores[name]!.tick(now: now), at: name) }
        if !queue.isEmpty { settle() }
    }
}

@Suite struct RouterCoreTests {
    let n = RouterCoreNetwork.name

    @Test func lineRoutesAndPublishesOnce() {
        var network = RouterCoreNetwork(count: 3)
        network.connect(0, 1)
        network.connect(1, 2)
        network.settle()
        #expect(network.cores[n(0)]!.routes.nextHop(to: n(2)) == n(1))
        #expect(network.cores[n(2)]!.routes.nextHop(to: n(0)) == n(1))
        let diffs = network.published[n(0)] ?? []
        #expect(diffs.reduce(into: Set<PeerName>()) { $0.formUnion($1.unicastChanged.keys) } == [n(1), n(2)])
        #expect(network.cores[n(0)]!.counters.recalculations >= 1)

        network.disconnect(1, 2)
        network.settle()
        #expect(network.cores[n(0)]!.routes.nextHop(to: n(2)) == nil)
        #expect(network.published[n(0)]!.last!.unicastRemoved == [n(2)])
    }

    @Test func unicastIsRelayedHopByHop() throws {
        var network = RouterCoreNetwork(count: 4)
        for index in 0..<3 { network.connect(index, index + 1) }
        network.settle()
        network.perform(try network.cores[n(0)]!.send([7], channel: "ipam", to: n(3)), at: n(0))
        network.settle()
        #expect(network.delivered[n(3)]?.map(\.payload) == [[7]])
        #expect(network.delivered[n(3)]?.first?.origin == n(0))
        #expect(network.delivered[n(1)] == nil && network.delivered[n(2)] == nil)
        #expect(network.cores[n(1)]!.counters.routedRelayed == 1 && network.cores[n(2)]!.counters.routedRelayed == 1)
        // Hop limit: a message that has one hop left is not relayed further.
        let limited = MeshRoutedMessage(origin: n(0), destination: .peer(n(3)), channel: "ipam", payload: [], hopLimit: 1)
        network.perform(network.cores[n(1)]!.received(channel: MeshRoutedMessage.connectionChannel, payload: try limited.encoded(), from: n(0), now: network.now), at: n(1))
        network.settle()
        #expect(network.cores[n(1)]!.counters.routedHopLimit == 1)
        #expect(network.delivered[n(3)]?.count == 1)
    }

    @Test func unreachableDestinationThrows() {
        var network = RouterCoreNetwork(count: 2)
        #expect(throws: MeshError.self) { try network.cores[n(0)]!.send([1], channel: "ipam", to: n(1)) }
        #expect(throws: MeshError.self) { try network.cores[n(0)]!.send([1], channel: "", to: n(0)) }
        let local = try? network.cores[n(0)]!.send([1], channel: "ipam", to: n(0))
        #expect(local?.count == 1)
    }

    @Test func broadcastReachesEveryPeerOnce() throws {
        var network = RouterCoreNetwork(count: 6)
        // A ring with a chord: several paths, each peer must still receive once.
        for index in 0..<6 { network.connect(index, (index + 1) % 6) }
        network.connect(0, 3)
        network.settle()
        for origin in 0..<6 {
            network.delivered = [:]
            network.perform(try network.cores[n(origin)]!.broadcast([UInt8(origin)], channel: "bulletin"), at: n(origin))
            network.settle()
            for peer in 0..<6 {
                #expect(network.delivered[n(peer)]?.count ?? 0 == (peer == origin ? 0 : 1), "origin \(origin), peer \(peer)")
            }
        }
    }

    @Test func malformedInputIsCountedAndIgnored() {
        var network = RouterCoreNetwork(count: 2)
        network.connect(0, 1)
        network.settle()
        let before = network.cores[n(1)]!.routes
        for garbage in [[], [0xff], [1, 64, 0, 0], Array(repeating: 0xaa, count: 100)] as [[UInt8]] {
            network.perform(network.cores[n(1)]!.received(channel: MeshRouter.topologyChannel, payload: garbage, from: n(0), now: network.now), at: n(1))
            network.perform(network.cores[n(1)]!.received(channel: MeshRoutedMessage.connectionChannel, payload: garbage, from: n(0), now: network.now), at: n(1))
        }
        network.settle()
        #expect(network.cores[n(1)]!.counters.topologyMalformed == 4)
        #expect(network.cores[n(1)]!.counters.routedMalformed == 4)
        #expect(network.cores[n(1)]!.routes == before)
    }

    /// Discovery dials the listening address of peers learned through gossip (outbound
    /// connections report it; inbound ones give the IP with the default port), forgets it once
    /// connected, and stops at the connection limit.
    @Test func discoveryDialsLearnedPeers() {
        var network = RouterCoreNetwork(count: 4, discovery: true)
        for leaf in 1..<4 { network.connect(0, leaf) }
        network.settle()
        let dialed = Set(network.dials[n(1)] ?? [])
        #expect(dialed == [RouterCoreNetwork.address(2), RouterCoreNetwork.address(3)])
        #expect(network.dials[n(0)] == nil, "the hub is connected to everyone")
        network.connect(1, 2)
        network.settle()
        #expect(network.forgotten[n(1)] == [RouterCoreNetwork.address(2)])

        var limited = RouterCoreNetwork(count: 4, discovery: true, connectionLimit: 2)
        for leaf in 1..<4 { limited.connect(0, leaf) }
        limited.settle()
        #expect(limited.dials[n(1)]?.count == 1, "one connection plus one target reach the limit of 2")
    }

    @Test func addressParsing() {
        #expect(RouterCore.address("192.0.2.7:6783", outbound: true, defaultPort: 1) == MeshPeerAddress(.v4(IPv4Address(192, 0, 2, 7)), port: 6783))
        #expect(RouterCore.address("192.0.2.7:41000", outbound: false, defaultPort: 6783)?.port == 6783)
        #expect(RouterCore.address("[2001:db8::1]:6783", outbound: true, defaultPort: 1)?.description == "[2001:db8::1]:6783")
        for bad in ["", "192.0.2.7", "192.0.2.7:0", "x:1", "[2001:db8::1", "192.0.2.7:99999"] {
            #expect(RouterCore.address(bad, outbound: true, defaultPort: 6783) == nil)
        }
    }
}

@Suite struct RoutedMessageTests {
    @Test func roundTrips() throws {
        let origin = PeerName(rawValue: 0x0a0b_0c0d_0e0f)!
        for message in [
            MeshRoutedMessage(origin: origin, destination: .peer(PeerName(rawValue: 1)!), channel: "ipam", payload: [1, 2, 3]),
            MeshRoutedMessage(origin: origin, destination: .broadcast, channel: String(repeating: "c", count: 255), payload: [], hopLimit: 3),
        ] {
            #expect(try MeshRoutedMessage(decoding: message.encoded()) == message)
        }
    }

    @Test func rejectsMalformedEnvelopes() throws {
        let good = try MeshRoutedMessage(origin: PeerName(rawValue: 5)!, destination: .peer(PeerName(rawValue: 6)!), channel: "x", payload: [9]).encoded()
        for length in 0..<(RoutedMessageTestsHelper.headerAndName) {
            #expect(throws: MeshError.self) { try MeshRoutedMessage(decoding: good.prefix(length)) }
        }
        var unknownKind = good
        unknownKind[0] = 9
        #expect(throws: MeshError.self) { try MeshRoutedMessage(decoding: unknownKind) }
        var emptyName = good
        emptyName[14] = 0
        #expect(throws: MeshError.self) { try MeshRoutedMessage(decoding: emptyName) }
        var badUTF8 = good
        badUTF8[15] = 0xff
        #expect(throws: MeshError.self) { try MeshRoutedMessage(decoding: badUTF8) }
        #expect(throws: MeshError.self) {
            try MeshRoutedMessage(origin: PeerName(rawValue: 5)!, destination: .broadcast, channel: String(repeating: "c", count: 256), payload: []).encoded()
        }
    }
}

enum RoutedMessageTestsHelper {
    /// Unicast header (14 bytes) plus the name length byte and a one-byte name.
    static let headerAndName = 16
}
