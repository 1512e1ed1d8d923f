import Mesh
import NetPrimitives
import Testing
import Weave
@testable import swift_weaved

/// The sleeve's pure parts: its datagram header, where a frame from the bridge goes, and which
/// path carries each peer.
struct SleeveTests {
    @Test func headerRoundTrip() {
        let header = SleeveHeader(kind: .frame, hopsLeft: 7, sender: 0x02aa_bbcc_ddee, origin: 0x0211_2233_4455, destination: 0x0266_7788_99aa)
        let bytes = header.bytes
        #expect(bytes.count == SleeveHeader.size && bytes[0] == 0x57 && bytes[1] == 1 && bytes[2] == 7)
        #expect(bytes.withUnsafeBytes { SleeveHeader(reading: $0) } == header)
        // Too short, wrong magic, unknown kind: not a sleeve datagram.
        #expect(Array(bytes.prefix(20)).withUnsafeBytes { SleeveHeader(reading: $0) } == nil)
        #expect(([0x58] + bytes.dropFirst()).withUnsafeBytes { SleeveHeader(reading: $0) } == nil)
        #expect(([0x57, 9] + bytes.dropFirst(2)).withUnsafeBytes { SleeveHeader(reading: $0) } == nil)
        // A sealed datagram: only the clear part is read.
        var sealed = header
        sealed.kind = .sealedFrame
        let clear = Array(sealed.bytes.prefix(SleeveHeader.clearSize))
        let read = clear.withUnsafeBytes { SleeveHeader(reading: $0) }
        #expect(read?.sender == header.sender && read?.origin == 0 && read?.kind == .sealedFrame)
    }

    @Test func frameDestinations() {
        let routes = SleeveRoutes(local: 1, neighbours: [2: .init(address: 0x0a00_0002)], nextHops: [2: 2, 3: 2, 4: 4], sleevePeers: [3])
        let broadcast: UInt64 = 0xffff_ffff_ffff, unicast: UInt64 = 0x0a58_0a20_0003
        #expect(routes.destinations(destinationMAC: broadcast, owner: nil) == .all)
        #expect(routes.destinations(destinationMAC: unicast, owner: nil) == .all)  // unknown unicast floods
        #expect(routes.destinations(destinationMAC: unicast, owner: 3) == .one(3))
        #expect(routes.destinations(destinationMAC: unicast, owner: 4) == .none)  // the fast path carries it
        #expect(routes.hop(towards: 3)?.peer == 2 && routes.hop(towards: 9) == nil)
        #expect(routes.neighbour(2, at: 0x0a00_0002) != nil && routes.neighbour(2, at: 0x0a00_0009) == nil)
        #expect(SleeveRoutes(local: 1).destinations(destinationMAC: broadcast, owner: nil) == .none)
    }

    @Test func pathPlan() throws {
        let a = PeerName(rawValue: 1)!, b = PeerName(rawValue: 2)!, c = PeerName(rawValue: 3)!, d = PeerName(rawValue: 4)!
        let routes = RouteTable(localPeer: a, unicast: [
            b: .init(destination: b, nextHop: b, hops: 1), c: .init(destination: c, nextHop: c, hops: 1),
            d: .init(destination: d, nextHop: b, hops: 2),
        ])
        let neighbours: [PeerName: IPAddress] = [b: try IPAddress(parsing: "192.168.77.11"), c: try IPAddress(parsing: "192.168.77.12")]
        // Plain: direct peers on the fast path, the relayed one on the sleeve.
        let plain = PathPlan.plan(neighbours: neighbours, routes: routes, encrypted: [])
        #expect(Set(plain.fastPath.keys) == [b, c] && plain.sleevePeers == [d])
        // Encrypted neighbours never use the fast path; a failed fast path moves its peer too.
        let sealed = PathPlan.plan(neighbours: neighbours, routes: routes, encrypted: [b])
        #expect(Set(sealed.fastPath.keys) == [c] && sealed.sleevePeers == [b, d])
        let failed = PathPlan.plan(neighbours: neighbours, routes: routes, encrypted: [], fastPathFailed: [c])
        #expect(Set(failed.fastPath.keys) == [b] && failed.sleevePeers == [c, d])
        let paths = WeaveAgent.paths(plan: sealed, routes: routes, names: [b: "node-1", d: "node-3"])
        #expect(paths.map(\.path) == [.sleeve, .fastpath, .sleeve] && paths[2].via == "node-1" && paths[2].encrypted)
    }

    @Test func podMTUFitsASealedDatagram() {
        // IPv4 20 + UDP 8 + clear header 9 + sealed (12 + origin/destination 12 + frame + tag 16).
        let mtu = Sleeve.podMTU(underlayMTU: 1500)
        #expect(20 + 8 + 9 + 12 + 12 + 14 + mtu + 16 == 1500)
    }
}
