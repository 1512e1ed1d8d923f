import NetpolConformance
import Testing

/// The truth-table editing operations behave as upstream's `Reachability`.
struct ReachabilityTests {
    let xa = NetpolPod("x", "a")
    let yb = NetpolPod("y", "b")

    @Test func allIngressAndEgressEditTheirColumnAndRow() {
        var table = Reachability(allConnected: true)
        table.expectAllIngress(xa, false)
        #expect(!table[yb, xa] && table[xa, yb] && table[xa, xa])
        table.expectAllEgress(xa, false)
        #expect(!table[xa, yb])
        #expect(Reachability(allConnected: true).differences(from: table).count == 16)
    }

    @Test func peersMatchByNamespaceAndPod() {
        var table = Reachability(allConnected: false)
        table.expectPeer(from: Peer(namespace: "y"), to: Peer(namespace: "x", pod: "a"), true)
        #expect(table[yb, xa] && !table[NetpolPod("z", "b"), xa] && !table[yb, NetpolPod("x", "b")])
        #expect(Reachability(allConnected: false).differences(from: table).count == 3)
        #expect(table.rendered.split(separator: "\n").count == 10)
    }
}
