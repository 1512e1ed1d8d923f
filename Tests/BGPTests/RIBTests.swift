import NetPrimitives
import Testing

@testable import BGP

@Suite("RIB")
struct RIBTests {
    static let routerID = IPv4Address(10, 0, 0, 1)

    static func peer(_ last: UInt8, as asNumber: UInt32, client: Bool = false, max: Int? = nil) -> RIBPeer {
        RIBPeer(address: .v4(IPv4Address(10, 0, 0, last)), asNumber: asNumber, routerID: IPv4Address(10, 0, 0, last),
                isInternal: asNumber == 65001, isRouteReflectorClient: client, localIPv4: routerID,
                localIPv6: try! IPv6Address(parsing: "fd00::1"), families: [.ipv4Unicast, .ipv6Unicast],
                maximumPrefixes: max, fourOctetAS: true)
    }

    static func update(_ prefixes: [String], path: [UInt32], hop: UInt8, localPreference: UInt32? = nil, med: UInt32? = nil,
                       origin: PathAttributes.Origin = .igp, originator: IPv4Address? = nil, clusters: [IPv4Address] = [],
                       communities: [UInt32] = []) -> UpdateMessage {
        UpdateMessage(attributes: PathAttributes(origin: origin, asPath: ASPath(sequence: path), nextHop: IPv4Address(10, 0, 0, hop),
                                                 multiExitDiscriminator: med, localPreference: localPreference,
                                                 communities: communities, originatorID: originator, clusterList: clusters),
                      reachableRoutes: prefixes.map(prefix))
    }

    func rib() -> RoutingInformationBase { RoutingInformationBase(localAS: 65001, routerID: Self.routerID) }

    func best(_ rib: RoutingInformationBase, _ text: String) -> BGPRoute? {
        rib.loc[prefix(text)].map { rib.route(for: prefix(text), path: $0.paths[$0.best]) }
    }

    @Test func decisionProcessOrder() {
        var table = rib()
        let a = table.addPeer(Self.peer(2, as: 65001))
        let b = table.addPeer(Self.peer(3, as: 65001))
        let c = table.addPeer(Self.peer(4, as: 65010))
        // Local preference wins over path length.
        _ = table.apply(Self.update(["10.1.0.0/16"], path: [1], hop: 2, localPreference: 100), from: a)
        _ = table.apply(Self.update(["10.1.0.0/16"], path: [1, 2, 3], hop: 3, localPreference: 200), from: b)
        #expect(best(table, "10.1.0.0/16")?.peer == "10.0.0.3")
        // Shorter AS path.
        _ = table.apply(Self.update(["10.2.0.0/16"], path: [1, 2], hop: 2), from: a)
        _ = table.apply(Self.update(["10.2.0.0/16"], path: [1], hop: 3), from: b)
        #expect(best(table, "10.2.0.0/16")?.peer == "10.0.0.3")
        // Lower origin.
        _ = table.apply(Self.update(["10.3.0.0/16"], path: [1], hop: 2, origin: .incomplete), from: a)
        _ = table.apply(Self.update(["10.3.0.0/16"], path: [1], hop: 3, origin: .egp), from: b)
        #expect(best(table, "10.3.0.0/16")?.peer == "10.0.0.3")
        // Lower MED from the same neighbour AS.
        _ = table.apply(Self.update(["10.4.0.0/16"], path: [7], hop: 2, med: 5), from: a)
        _ = table.apply(Self.update(["10.4.0.0/16"], path: [7], hop: 3, med: 10), from: b)
        #expect(best(table, "10.4.0.0/16")?.peer == "10.0.0.2")
        // eBGP over iBGP.
        _ = table.apply(Self.update(["10.5.0.0/16"], path: [65010], hop: 2), from: a)
        _ = table.apply(Self.update(["10.5.0.0/16"], path: [65010], hop: 4), from: c)
        #expect(best(table, "10.5.0.0/16")?.peer == "10.0.0.4")
        // Lowest router ID, then falls back when the winner withdraws.
        _ = table.apply(Self.update(["10.6.0.0/16"], path: [1], hop: 3), from: b)
        _ = table.apply(Self.update(["10.6.0.0/16"], path: [1], hop: 2), from: a)
        #expect(best(table, "10.6.0.0/16")?.peer == "10.0.0.2")
        let result = table.apply(UpdateMessage(withdrawnRoutes: [prefix("10.6.0.0/16")], attributes: PathAttributes(origin: nil)), from: a)
        #expect(result.changes.count == 1)
        #expect(best(table, "10.6.0.0/16")?.peer == "10.0.0.3")
        let gone = table.apply(UpdateMessage(withdrawnRoutes: [prefix("10.6.0.0/16")], attributes: PathAttributes(origin: nil)), from: b)
        #expect(gone.changes == [.withdrawn(prefix("10.6.0.0/16"))])
    }

    @Test func loopsAreRejected() {
        var table = rib()
        let external = table.addPeer(Self.peer(4, as: 65010))
        let internalPeer = table.addPeer(Self.peer(2, as: 65001))
        _ = table.apply(Self.update(["10.1.0.0/16"], path: [65010, 65001], hop: 4), from: external)
        _ = table.apply(Self.update(["10.2.0.0/16"], path: [], hop: 2, originator: Self.routerID), from: internalPeer)
        _ = table.apply(Self.update(["10.3.0.0/16"], path: [], hop: 2, clusters: [Self.routerID]), from: internalPeer)
        // An external peer's path must start with its own AS and may not be empty.
        _ = table.apply(Self.update(["10.4.0.0/16"], path: [65099], hop: 4), from: external)
        _ = table.apply(Self.update(["10.5.0.0/16"], path: [], hop: 4), from: external)
        #expect(table.prefixCount == 0)
    }

    @Test func exportToExternalPeerPrependsAndSetsNextHopSelf() {
        var table = rib()
        let internalPeer = table.addPeer(Self.peer(2, as: 65001))
        let external = table.addPeer(Self.peer(4, as: 65010))
        _ = table.peerEstablished(external) { _ in }
        let result = table.apply(Self.update(["10.1.0.0/16"], path: [], hop: 2, localPreference: 300, med: 9), from: internalPeer)
        let sent = result.outbound[external]?.announcements.first
        #expect(sent?.1 == [prefix("10.1.0.0/16")])
        #expect(sent?.0.value.asPath == ASPath(sequence: [65001]))
        #expect(sent?.0.value.localPreference == nil)
        #expect(sent?.0.value.multiExitDiscriminator == nil)
        #expect(sent?.0.nextHop == .v4(Self.routerID))
        // NO_EXPORT stays inside the AS.
        let noExport = table.apply(Self.update(["10.2.0.0/16"], path: [], hop: 2, communities: [PathAttributes.noExport]), from: internalPeer)
        #expect(noExport.outbound[external] == nil)
    }

    @Test func iBGPRoutesAreNotSentToIBGPPeersWithoutReflection() {
        var table = rib()
        let a = table.addPeer(Self.peer(2, as: 65001))
        let b = table.addPeer(Self.peer(3, as: 65001))
        _ = table.peerEstablished(b) { _ in }
        let result = table.apply(Self.update(["10.1.0.0/16"], path: [], hop: 2), from: a)
        #expect(result.outbound[b] == nil)
        // A locally originated route goes to iBGP peers with next hop self and LOCAL_PREF.
        let local = table.originate(prefix("10.9.0.0/24"), attributes: PathAttributes(), nextHop: nil)
        let sent = local.outbound[b]?.announcements.first
        #expect(sent?.0.nextHop == .v4(Self.routerID))
        #expect(sent?.0.value.localPreference == 100)
    }

    @Test func routeReflectorReflectsClientRoutes() {
        var table = rib()
        let client = table.addPeer(Self.peer(2, as: 65001, client: true))
        let other = table.addPeer(Self.peer(3, as: 65001))
        let client2 = table.addPeer(Self.peer(5, as: 65001, client: true))
        _ = table.peerEstablished(other) { _ in }
        _ = table.peerEstablished(client2) { _ in }
        let fromClient = table.apply(Self.update(["10.1.0.0/16"], path: [], hop: 2), from: client)
        for target in [other, client2] {
            let sent = fromClient.outbound[target]?.announcements.first?.0
            #expect(sent?.value.originatorID == IPv4Address(10, 0, 0, 2))
            #expect(sent?.value.clusterList == [Self.routerID])
            #expect(sent?.nextHop == .v4(IPv4Address(10, 0, 0, 2)))
        }
        // From a non-client: to clients only.
        let fromOther = table.apply(Self.update(["10.2.0.0/16"], path: [], hop: 3), from: other)
        #expect(fromOther.outbound[client2] != nil)
        #expect(fromOther.outbound[client] == nil)  // not established
        #expect(fromOther.outbound[other] == nil)
    }

    @Test func gracefulRestartKeepsStaleRoutesUntilEndOfRIB() {
        var table = rib()
        let peer = table.addPeer(Self.peer(4, as: 65010))
        _ = table.apply(Self.update(["10.1.0.0/16", "10.2.0.0/16"], path: [65010], hop: 4), from: peer)
        let down = table.peerDown(peer, keepStale: true)
        #expect(down.changes.isEmpty)
        #expect(best(table, "10.1.0.0/16")?.isStale == true)
        _ = table.peerEstablished(peer) { _ in }
        _ = table.apply(Self.update(["10.1.0.0/16"], path: [65010], hop: 4), from: peer)
        #expect(best(table, "10.1.0.0/16")?.isStale == false)
        let swept = table.sweepStale(peer, family: .ipv4Unicast)
        #expect(swept.changes == [.withdrawn(prefix("10.2.0.0/16"))])
        #expect(table.prefixCount == 1)
        // Without graceful restart everything goes.
        #expect(table.peerDown(peer, keepStale: false).changes == [.withdrawn(prefix("10.1.0.0/16"))])
    }

    @Test func importFilterKeepsRoutesOut() {
        var table = rib()
        var filtered = Self.peer(4, as: 65010)
        filtered.importFilter = { $0.prefix.length <= 24 }
        let peer = table.addPeer(filtered)
        _ = table.apply(Self.update(["10.1.0.0/16", "10.1.2.3/32"], path: [65010], hop: 4), from: peer)
        #expect(table.bestRoutes().map(\.prefix) == [prefix("10.1.0.0/16")])
    }

    @Test func maximumPrefixesIsReported() {
        var table = rib()
        let peer = table.addPeer(Self.peer(4, as: 65010, max: 2))
        #expect(!table.apply(Self.update(["10.1.0.0/16", "10.2.0.0/16"], path: [65010], hop: 4), from: peer).prefixLimitExceeded)
        #expect(table.apply(Self.update(["10.3.0.0/16"], path: [65010], hop: 4), from: peer).prefixLimitExceeded)
    }

    @Test func treatAsWithdrawRemovesRoutes() {
        var table = rib()
        let peer = table.addPeer(Self.peer(4, as: 65010))
        _ = table.apply(Self.update(["10.1.0.0/16"], path: [65010], hop: 4), from: peer)
        var broken = Self.update(["10.1.0.0/16"], path: [65010], hop: 4)
        broken.errorAction = .treatAsWithdraw
        #expect(table.apply(broken, from: peer).changes == [.withdrawn(prefix("10.1.0.0/16"))])
    }

    @Test func establishedPeerGetsTheWholeTableAndExportFilterApplies() {
        var table = rib()
        _ = table.originate(prefix("10.9.0.0/24"), attributes: PathAttributes(), nextHop: nil)
        _ = table.originate(prefix("10.8.0.0/24"), attributes: PathAttributes(), nextHop: nil)
        _ = table.originate(prefix("fd00:9::/64"), attributes: PathAttributes(), nextHop: nil)
        var filtered = Self.peer(4, as: 65010)
        filtered.exportFilter = { $0.prefix != prefix("10.8.0.0/24") }
        let peer = table.addPeer(filtered)
        let result = table.peerEstablished(peer) { _ in }
        let prefixes = Set(result.outbound[peer]?.announcements.flatMap(\.1) ?? [])
        #expect(prefixes == [prefix("10.9.0.0/24"), prefix("fd00:9::/64")])
        let v6 = result.outbound[peer]?.announcements.first { $0.1.first?.family == .v6 }
        #expect(v6?.0.nextHop == "fd00::1")
    }
}
